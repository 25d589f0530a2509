/** An account user's panel: mailboxes, forwarders, DNS records, the site, where the mail lives and the webmail link. */
import type { JSX } from 'preact';
import { api, call } from '../../api/client.ts';
import type { AccountView } from '../../api/types.ts';
import { currentSession } from '../../session.ts';
import { Loading, NotFound, Page, useLoad } from '../../components/ui.tsx';
import { AccountSummary } from '../account.tsx';
import { DnsCard } from './dns.tsx';
import { ForwardersCard, MailboxesCard } from './mail.tsx';
import { SiteCard } from './site.tsx';

export const USER_NAV = [
  { path: '', label: 'Overview' },
  { path: 'mail', label: 'Mailboxes' },
  { path: 'forwarders', label: 'Forwarders' },
  { path: 'dns', label: 'DNS' },
];

const VIEWS: Record<string, { title: string; body: (account: AccountView) => JSX.Element }> = {
  '': {
    title: 'Overview',
    body: (account) => (
      <div class="grid-2">
        <SiteCard account={account} />
        <AccountSummary account={account} />
      </div>
    ),
  },
  mail: { title: 'Mailboxes', body: (account) => <MailboxesCard account={account} /> },
  forwarders: { title: 'Forwarders', body: (account) => <ForwardersCard account={account} /> },
  dns: { title: 'DNS records', body: (account) => <DnsCard account={account} /> },
};

export function userPage([section = '']: string[]): JSX.Element {
  const view = VIEWS[section];
  if (!view) return <NotFound message={`There is no page '${section}'.`} />;
  return <UserView title={view.title} body={view.body} />;
}

function UserView({ title, body }: { title: string; body: (account: AccountView) => JSX.Element }): JSX.Element {
  const me = currentSession.value!.username;
  const state = useLoad(() => call(api.GET('/api/accounts/{username}', { params: { path: { username: me } } })), [me]);
  return (
    <Page title={title}>
      <Loading state={state}>{(account) => body(account)}</Loading>
    </Page>
  );
}
