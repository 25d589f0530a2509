/** Resellers: accounts with the right to create accounts of their own, up to a limit. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, call } from '../../api/client.ts';
import { Form, TextField, useAction } from '../../components/form.tsx';
import { Card, Loading, Page, Refusal, Table, useLoad, when } from '../../components/ui.tsx';
import { href } from '../../router.ts';

export function ResellersPage(): JSX.Element {
  const state = useLoad(() => call(api.GET('/api/resellers')), []);
  const [username, setUsername] = useState('');
  const [limit, setLimit] = useState('');
  const grant = useAction();
  const withdraw = useAction();
  return (
    <Page title="Resellers">
      <Card title="Resellers">
        <Loading state={state}>
          {({ resellers }) => (
            <Table
              caption="Resellers"
              rows={resellers}
              rowKey={(r) => r.username}
              empty="No resellers yet."
              columns={[
                { label: 'Reseller', cell: (r) => <a href={href('accounts', r.username)}>{r.username}</a> },
                { label: 'Accounts', cell: (r) => `${r.accounts} of ${r.maxAccounts ?? 'unlimited'}` },
                { label: 'Since', cell: (r) => when(r.grantedAt), secondary: true },
                {
                  label: 'Actions',
                  cell: (r) => (
                    <button type="button" class="small danger" disabled={withdraw.busy} onClick={() => void withdraw.run(async () => (await call(api.DELETE('/api/resellers/{username}', { params: { path: { username: r.username } } })), state.reload()))}>
                      Withdraw
                    </button>
                  ),
                },
              ]}
            />
          )}
        </Loading>
        <Refusal refusal={withdraw.refusal} />
      </Card>
      <Card title="Grant reseller privileges or change a limit" id="grant-reseller">
        <Form
          action={grant}
          label="Grant reseller privileges"
          fields={['username', 'maxAccounts']}
          submit="Save"
          onSubmit={() =>
            void grant.run(async () => {
              await call(api.PUT('/api/resellers/{username}', { params: { path: { username } }, body: { maxAccounts: limit === '' ? null : Number(limit) } }));
              setUsername('');
              setLimit('');
              state.reload();
            })
          }
        >
          <div class="row">
            <TextField name="username" label="Account" value={username} onValue={setUsername} autoComplete="off" />
            <TextField name="maxAccounts" label="Most accounts (empty: no limit)" value={limit} onValue={setLimit} inputMode="numeric" />
          </div>
        </Form>
      </Card>
    </Page>
  );
}
