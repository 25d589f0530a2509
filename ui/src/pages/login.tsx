/** The one login page for the admin, resellers and account users. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, call } from '../api/client.ts';
import { Form, TextField, useAction } from '../components/form.tsx';
import { endReason, startSession } from '../session.ts';
import { route } from '../router.ts';
import { prefetchOverview } from './admin/dashboard.tsx';

export function LoginPage(): JSX.Element {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  const reason = endReason.value;
  const submit = (): void =>
    void action.run(async () => {
      const session = await call(api.POST('/api/session', { body: { username, password } }));
      startSession({ token: session.token, username: session.principal.username, role: session.principal.role, expiresAt: session.expiresAt ? Date.parse(session.expiresAt) : null });
      // The panel renders after this returns; the admin's dashboard need not wait for that to ask for its data.
      if (session.principal.role === 'admin' && (route.value[0] ?? '') === '') prefetchOverview();
    });
  return (
    <main class="login" id="main">
      <div class="login-card">
        <p class="brand">
          <span class="logo" aria-hidden="true">◆</span> Fleetpanel
        </p>
        <h1 tabIndex={-1}>Log in</h1>
        {reason && (
          <p class="notice" role="status">
            {reason}
          </p>
        )}
        <Form action={action} onSubmit={submit} label="Log in" fields={['username', 'password']} submit="Log in">
          <TextField name="username" label="User name" value={username} onValue={setUsername} autoComplete="username" required />
          <TextField name="password" label="Password" type="password" value={password} onValue={setPassword} autoComplete="current-password" required />
        </Form>
        <p class="fineprint">Administrators, resellers and account users all log in here.</p>
      </div>
    </main>
  );
}
