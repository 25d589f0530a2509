/** Accounts: the list the caller may see and the create form (plan, owner and mail node for the admin). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, call } from '../../api/client.ts';
import type { AccountView } from '../../api/types.ts';
import { Form, SelectField, TextField, useAction } from '../../components/form.tsx';
import { PasswordField } from '../../components/strength.tsx';
import { Badge, Card, Loading, Page, Table, useLoad } from '../../components/ui.tsx';
import { href, navigate } from '../../router.ts';

export function AccountList({ accounts }: { accounts: AccountView[] }): JSX.Element {
  return (
    <Table
      caption="Accounts"
      rows={accounts}
      rowKey={(a) => a.username}
      empty="No accounts yet."
      columns={[
        { label: 'Account', cell: (a) => <a href={href('accounts', a.username)}>{a.username}</a> },
        { label: 'Domain', cell: (a) => a.domain },
        { label: 'Plan', cell: (a) => a.plan, secondary: true },
        { label: 'Owner', cell: (a) => a.owner, secondary: true },
        { label: 'Mail on', cell: (a) => a.mailNode ?? 'parent', secondary: true },
        { label: 'State', cell: (a) => <Badge value={a.suspended ? 'suspended' : 'active'} /> },
      ]}
    />
  );
}

export function AccountsPage(): JSX.Element {
  const state = useLoad(() => call(api.GET('/api/accounts')), []);
  return (
    <Page title="Accounts">
      <Card title="All accounts">
        <Loading state={state}>{({ accounts }) => <AccountList accounts={accounts} />}</Loading>
      </Card>
      <Card title="Create an account" id="create-account">
        <CreateAccountForm admin />
      </Card>
    </Page>
  );
}

/** The admin picks plan, owner and mail node; a reseller's accounts are its own and follow its mail node. */
export function CreateAccountForm({ admin }: { admin: boolean }): JSX.Element {
  const [username, setUsername] = useState('');
  const [domain, setDomain] = useState('');
  const [password, setPassword] = useState('');
  const [plan, setPlan] = useState('');
  const [owner, setOwner] = useState('');
  const [mailNode, setMailNode] = useState('');
  const choices = useLoad(async () => {
    const plans = (await call(api.GET('/api/plans'))).plans;
    if (!admin) return { plans, resellers: [], mailNodes: [] };
    const [resellers, nodes] = await Promise.all([call(api.GET('/api/resellers')), call(api.GET('/api/nodes'))]);
    return { plans, resellers: resellers.resellers, mailNodes: nodes.nodes.filter((n) => !n.local && n.roles.includes('mail')) };
  }, [admin]);
  const action = useAction();
  const submit = (): void =>
    void action.run(async () => {
      await call(
        api.POST('/api/accounts', { body: { username, domain, password, ...(plan ? { plan } : {}), ...(owner ? { owner } : {}), ...(mailNode ? { mailNode } : {}) } }),
      );
      navigate('accounts', username);
    });
  const data = choices.data;
  return (
    <Form action={action} onSubmit={submit} label="Create an account" fields={['username', 'domain', 'password', 'plan', 'owner', 'mailNode']} submit="Create account">
      <div class="row">
        <TextField name="username" label="User name" value={username} onValue={setUsername} autoComplete="off" />
        <TextField name="domain" label="Domain" value={domain} onValue={setDomain} autoComplete="off" placeholder="example.com" />
      </div>
      <PasswordField name="password" label="Password" kind="account" value={password} onValue={setPassword} />
      <div class="row">
        <SelectField name="plan" label="Plan" value={plan} onValue={setPlan} options={[{ value: '', label: 'the default plan' }, ...(data?.plans ?? []).map((p) => ({ value: p.name, label: `${p.name} (${p.diskMb} MB, ${p.mailboxes} mailboxes)` }))]} />
        {admin && (
          <SelectField name="owner" label="Owner" value={owner} onValue={setOwner} options={[{ value: '', label: 'admin' }, ...(data?.resellers ?? []).map((r) => ({ value: r.username, label: `reseller ${r.username}` }))]} />
        )}
        {admin && (
          <SelectField name="mailNode" label="Mail node" value={mailNode} onValue={setMailNode} options={[{ value: '', label: 'chosen by placement' }, { value: 'local', label: 'the parent' }, ...(data?.mailNodes ?? []).map((n) => ({ value: n.alias, label: n.alias }))]} />
        )}
      </div>
    </Form>
  );
}
