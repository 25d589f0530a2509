/** A reseller's panel: its accounts and its limits, nothing else. */
import type { JSX } from 'preact';
import { api, call } from '../../api/client.ts';
import { currentSession } from '../../session.ts';
import { AccountList, CreateAccountForm } from '../admin/accounts.tsx';
import { AccountPage } from '../account.tsx';
import { Card, Loading, NotFound, Page, useLoad, when } from '../../components/ui.tsx';

export const RESELLER_NAV = [{ path: '', label: 'My accounts' }];

export function resellerPage([section = '', id]: string[]): JSX.Element {
  if (section === '') return <ResellerHome />;
  if (section === 'accounts' && id) return <AccountPage username={id} />;
  if (section === 'accounts') return <ResellerHome />;
  return <NotFound message={`There is no page '${section}'.`} />;
}

function ResellerHome(): JSX.Element {
  const me = currentSession.value!.username;
  const state = useLoad(async () => {
    const [limits, accounts] = await Promise.all([call(api.GET('/api/resellers/{username}', { params: { path: { username: me } } })), call(api.GET('/api/accounts'))]);
    return { limits, accounts: accounts.accounts };
  }, [me]);
  return (
    <Page title="My accounts">
      <Loading state={state}>
        {({ limits, accounts }) => (
          <>
            <div class="tiles">
              <div class="tile">
                <span class="tile-value" data-reseller-usage>
                  {limits.accounts}/{limits.maxAccounts ?? '∞'}
                </span>
                <span class="tile-label">accounts used of your limit</span>
              </div>
              <div class="tile">
                <span class="tile-value">{accounts.filter((a) => a.suspended).length}</span>
                <span class="tile-label">suspended</span>
              </div>
              <div class="tile">
                <span class="tile-value tile-small">{when(limits.grantedAt)}</span>
                <span class="tile-label">reseller since</span>
              </div>
            </div>
            <Card title="Accounts">
              <AccountList accounts={accounts} />
            </Card>
            <Card title="Create an account" id="create-account">
              <CreateAccountForm admin={false} />
            </Card>
          </>
        )}
      </Loading>
    </Page>
  );
}
