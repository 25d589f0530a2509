/** An account's mailboxes (add, quota, password with the policy's strength meter) and forwarders. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, call } from '../../api/client.ts';
import type { AccountView } from '../../api/types.ts';
import { Form, TextField, useAction } from '../../components/form.tsx';
import { PasswordField } from '../../components/strength.tsx';
import { Card, Loading, Refusal, Table, useLoad } from '../../components/ui.tsx';

export function MailboxesCard({ account }: { account: AccountView }): JSX.Element {
  const path = { params: { path: { username: account.username } } };
  const state = useLoad(() => call(api.GET('/api/accounts/{username}/mail/mailboxes', path)), [account.username, account.mailNode]);
  const [local, setLocal] = useState('');
  const [password, setPassword] = useState('');
  const [quota, setQuota] = useState('');
  const add = useAction();
  const remove = useAction();
  const [editing, setEditing] = useState<string | null>(null);
  const address = `${local}@${account.domain}`;
  return (
    <Card title="Mailboxes" id="mailboxes">
      <Loading state={state}>
        {({ mailboxes, proxiedFrom }) => (
          <>
            <p class="hint">As the mail node {proxiedFrom} holds them now.</p>
            <Table
              caption="Mailboxes"
              rows={mailboxes}
              rowKey={(m) => m.address}
              empty="No mailboxes yet."
              columns={[
                { label: 'Address', cell: (m) => m.address },
                { label: 'Quota', cell: (m) => (m.quotaMb ? `${m.quotaMb} MB` : 'plan limit'), secondary: true },
                { label: 'Messages', cell: (m) => String(m.messages ?? '—'), secondary: true },
                {
                  label: 'Actions',
                  cell: (m) => (
                    <span class="inline-actions">
                      <button type="button" class="small" onClick={() => setEditing(editing === m.address ? null : m.address)} aria-expanded={editing === m.address}>
                        Password
                      </button>
                      <button type="button" class="small danger" disabled={remove.busy} onClick={() => void remove.run(async () => (await call(api.DELETE('/api/accounts/{username}/mail/mailboxes/{address}', { params: { path: { username: account.username, address: m.address } } })), state.reload()))}>
                        Remove
                      </button>
                    </span>
                  ),
                },
              ]}
            />
            <Refusal refusal={remove.refusal} />
            {editing && <MailboxPassword account={account} address={editing} onDone={() => setEditing(null)} />}
          </>
        )}
      </Loading>
      <h3>Add a mailbox</h3>
      <Form
        action={add}
        label="Add a mailbox"
        fields={['address', 'password', 'quotaMb']}
        submit="Add mailbox"
        onSubmit={() =>
          void add.run(async () => {
            await call(api.POST('/api/accounts/{username}/mail/mailboxes', { ...path, body: { address, password, ...(quota ? { quotaMb: Number(quota) } : {}) } }));
            setLocal('');
            setPassword('');
            setQuota('');
            state.reload();
          })
        }
      >
        <div class="row">
          <TextField name="address" label={`Address (…@${account.domain})`} value={local} onValue={setLocal} autoComplete="off" placeholder="info" />
          <TextField name="quotaMb" label="Quota in MB (empty: the plan's)" value={quota} onValue={setQuota} inputMode="numeric" />
        </div>
        <PasswordField name="password" label="Password" kind="mail" account={account.username} address={address} value={password} onValue={setPassword} />
      </Form>
    </Card>
  );
}

function MailboxPassword({ account, address, onDone }: { account: AccountView; address: string; onDone: () => void }): JSX.Element {
  const [password, setPassword] = useState('');
  const action = useAction();
  return (
    <Form
      action={action}
      label={`New password for ${address}`}
      fields={['password']}
      submit="Set password"
      onSubmit={() =>
        void action.run(async () => {
          await call(api.PUT('/api/accounts/{username}/mail/mailboxes/{address}/password', { params: { path: { username: account.username, address } }, body: { password } }));
          onDone();
        })
      }
    >
      <PasswordField name="password" label={`New password for ${address}`} kind="mail" account={account.username} address={address} value={password} onValue={setPassword} />
    </Form>
  );
}

export function ForwardersCard({ account }: { account: AccountView }): JSX.Element {
  const path = { params: { path: { username: account.username } } };
  const state = useLoad(() => call(api.GET('/api/accounts/{username}/mail/forwarders', path)), [account.username]);
  const [source, setSource] = useState('');
  const [destination, setDestination] = useState('');
  const add = useAction();
  const remove = useAction();
  return (
    <Card title="Forwarders" id="forwarders">
      <Loading state={state}>
        {({ forwarders }) => (
          <Table
            caption="Forwarders"
            rows={forwarders}
            rowKey={(f) => `${f.source}-${f.type}-${(f.destinations ?? []).join(',')}${f.command ?? ''}`}
            empty="No forwarders yet."
            columns={[
              { label: 'From', cell: (f) => f.source },
              { label: 'To', cell: (f) => (f.type === 'pipe' ? `| ${f.command ?? ''}` : (f.destinations ?? []).join(', ')) },
              {
                label: 'Actions',
                cell: (f) => (
                  <button type="button" class="small danger" disabled={remove.busy} onClick={() => void remove.run(async () => (await call(api.DELETE('/api/accounts/{username}/mail/forwarders/{source}', { params: { path: { username: account.username, source: f.source } } })), state.reload()))}>
                    Remove
                  </button>
                ),
              },
            ]}
          />
        )}
      </Loading>
      <Refusal refusal={remove.refusal} />
      <h3>Add a forwarder</h3>
      <Form
        action={add}
        label="Add a forwarder"
        fields={['source', 'destinations']}
        submit="Add forwarder"
        onSubmit={() =>
          void add.run(async () => {
            await call(api.POST('/api/accounts/{username}/mail/forwarders', { ...path, body: { source: source.includes('@') ? source : `${source}@${account.domain}`, destinations: destination.split(/[\s,]+/).filter(Boolean) } }));
            setSource('');
            setDestination('');
            state.reload();
          })
        }
      >
        <div class="row">
          <TextField name="source" label={`From (…@${account.domain})`} value={source} onValue={setSource} autoComplete="off" placeholder="sales" />
          <TextField name="destinations" label="To (addresses, comma-separated)" value={destination} onValue={setDestination} autoComplete="off" />
        </div>
      </Form>
    </Card>
  );
}
