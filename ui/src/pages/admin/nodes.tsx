/** Nodes: the list, linking an agent by its token (cPanel) and installing one over SSH (ISPmanager). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, call } from '../../api/client.ts';
import { Field, Form, SelectField, TextField, useAction } from '../../components/form.tsx';
import { Badge, Card, Loading, Page, Table, useLoad, when } from '../../components/ui.tsx';
import { href, navigate } from '../../router.ts';

export const ROLES = ['mail', 'web', 'dns', 'database'] as const;
export const PROFILES = ['STANDARD', 'MAIL', 'WEB', 'DNS', 'DATABASE'] as const;
type Role = (typeof ROLES)[number];
type Profile = (typeof PROFILES)[number];

export function NodesPage(): JSX.Element {
  const state = useLoad(() => call(api.GET('/api/nodes')), []);
  return (
    <Page title="Nodes">
      <Card title="All nodes">
        <Loading state={state}>
          {({ nodes }) => (
            <Table
              caption="Nodes"
              rows={nodes}
              rowKey={(n) => n.alias}
              empty="No nodes yet."
              columns={[
                { label: 'Node', cell: (n) => <a href={href('nodes', n.alias)}>{n.alias}{n.local ? ' (parent)' : ''}</a> },
                { label: 'Address', cell: (n) => n.host, secondary: true },
                { label: 'Profile', cell: (n) => n.profile, secondary: true },
                { label: 'Roles', cell: (n) => n.roles.join(', ') || '—' },
                { label: 'Status', cell: (n) => <Badge value={n.status} label={n.statusLabel} /> },
                { label: 'Last check', cell: (n) => when(n.lastCheckAt), secondary: true },
              ]}
            />
          )}
        </Loading>
      </Card>
      <div class="grid-2">
        <Card title="Install a node over SSH" id="add-node">
          <AddNodeForm />
        </Card>
        <Card title="Link a node by token" id="link-node">
          <LinkNodeForm />
        </Card>
      </div>
    </Page>
  );
}

function RoleChoice({ roles, setRoles }: { roles: Role[]; setRoles: (roles: Role[]) => void }): JSX.Element {
  return (
    <Field name="roles" label="Roles">
      {(attributes) => (
        <div class="checks" role="group" id={attributes.id} aria-describedby={attributes['aria-describedby']}>
          {ROLES.map((role) => (
            <label key={role} class="check">
              <input type="checkbox" name="role" value={role} checked={roles.includes(role)} onChange={(event) => setRoles(event.currentTarget.checked ? [...roles, role] : roles.filter((r) => r !== role))} />
              {role}
            </label>
          ))}
        </div>
      )}
    </Field>
  );
}

const PROFILE_OPTIONS = [{ value: '', label: 'from the roles' }, ...PROFILES.map((p) => ({ value: p, label: p }))];

function AddNodeForm(): JSX.Element {
  const [alias, setAlias] = useState('');
  const [host, setHost] = useState('');
  const [port, setPort] = useState('22');
  const [auth, setAuth] = useState<'key' | 'password'>('key');
  const [secret, setSecret] = useState('');
  const [roles, setRoles] = useState<Role[]>(['mail']);
  const [profile, setProfile] = useState('');
  const [nodeRoot, setNodeRoot] = useState('');
  const [installDir, setInstallDir] = useState('');
  const action = useAction();
  const submit = (): void =>
    void action.run(async () => {
      await call(
        api.POST('/api/nodes/add', {
          body: {
            alias,
            ssh: { host, port: Number(port), username: 'root', ...(auth === 'key' ? { privateKey: secret } : { password: secret }) },
            roles,
            ...(profile ? { profile: profile as Profile } : {}),
            ...(nodeRoot ? { nodeRoot } : {}),
            ...(installDir ? { installDir } : {}),
          },
        }),
      );
      navigate('nodes', alias);
    });
  return (
    <Form action={action} onSubmit={submit} label="Install a node over SSH" fields={['alias', 'ssh', 'roles', 'profile', 'nodeRoot', 'installDir', 'address']} submit="Install node">
      <TextField name="alias" label="Alias" value={alias} onValue={setAlias} hint="a short name, e.g. mail2" />
      <div class="row">
        <TextField name="ssh.host" label="SSH host" value={host} onValue={setHost} also={['ssh']} />
        <TextField name="ssh.port" label="Port" value={port} onValue={setPort} inputMode="numeric" />
      </div>
      <SelectField name="auth" label="Log in as root with" value={auth} onValue={(v) => setAuth(v as 'key' | 'password')} options={[{ value: 'key', label: 'a private key' }, { value: 'password', label: 'a password' }]} />
      {auth === 'key' ? (
        <Field name="ssh.privateKey" label="Private key (OpenSSH or PEM)">
          {(attributes) => <textarea name="privateKey" rows={4} spellcheck={false} value={secret} onInput={(event) => setSecret(event.currentTarget.value)} {...attributes} />}
        </Field>
      ) : (
        <TextField name="ssh.password" label="Root password" type="password" value={secret} onValue={setSecret} autoComplete="off" />
      )}
      <RoleChoice roles={roles} setRoles={setRoles} />
      <SelectField name="profile" label="Profile" value={profile} onValue={setProfile} options={PROFILE_OPTIONS} />
      <details>
        <summary>Where the agent goes</summary>
        <TextField name="nodeRoot" label="State folder" value={nodeRoot} onValue={setNodeRoot} placeholder="/var/lib/fleetpanel-agent" />
        <TextField name="installDir" label="Program folder" value={installDir} onValue={setInstallDir} placeholder="/opt/fleetpanel-agent" />
      </details>
    </Form>
  );
}

function LinkNodeForm(): JSX.Element {
  const [alias, setAlias] = useState('');
  const [host, setHost] = useState('');
  const [token, setToken] = useState('');
  const [roles, setRoles] = useState<Role[]>(['mail']);
  const action = useAction();
  const submit = (): void =>
    void action.run(async () => {
      await call(api.POST('/api/nodes/link', { body: { alias, host, token: token.trim(), roles } }));
      navigate('nodes', alias);
    });
  return (
    <Form action={action} onSubmit={submit} label="Link a node by token" fields={['alias', 'host', 'token', 'roles']} submit="Link node">
      <TextField name="alias" label="Alias" value={alias} onValue={setAlias} />
      <TextField name="host" label="Address" value={host} onValue={setHost} />
      <Field name="token" label="Link token (printed by the agent)">
        {(attributes) => <textarea name="token" rows={3} spellcheck={false} value={token} onInput={(event) => setToken(event.currentTarget.value)} {...attributes} />}
      </Field>
      <RoleChoice roles={roles} setRoles={setRoles} />
    </Form>
  );
}
