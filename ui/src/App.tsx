/**
 * The shell: the login page, then one of three panels by role, each a set of hash routes. A
 * reseller or user who opens an administrator's route gets the API's own 403, since every page
 * asks the API and the API decides.
 */
import type { JSX } from 'preact';
import { currentSession, endSession, type Role } from './session.ts';
import { api } from './api/client.ts';
import { route } from './router.ts';
import { LoginPage } from './pages/login.tsx';
import { adminPage, ADMIN_NAV } from './pages/admin/routes.tsx';
import { resellerPage, RESELLER_NAV } from './pages/reseller/routes.tsx';
import { userPage, USER_NAV } from './pages/user/routes.tsx';

/** Logs out at the parent, which revokes the token, then forgets it here. */
async function logOut(): Promise<void> {
  try {
    await api.DELETE('/api/session');
  } catch {
    // The parent did not answer: the token is still forgotten here, and it expires at the parent on its own.
  }
  endSession('You logged out.');
}

const PANELS: Record<Role, { nav: { path: string; label: string }[]; page: (parts: string[]) => JSX.Element }> = {
  admin: { nav: ADMIN_NAV, page: adminPage },
  reseller: { nav: RESELLER_NAV, page: resellerPage },
  user: { nav: USER_NAV, page: userPage },
};

export function App(): JSX.Element {
  const session = currentSession.value;
  if (!session) return <LoginPage />;
  const panel = PANELS[session.role];
  const parts = route.value;
  const section = parts[0] ?? '';
  return (
    <div class="shell">
      <a class="skip" href="#main" onClick={(event) => (event.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="#/">
          <span class="logo" aria-hidden="true">◆</span> Fleetpanel
        </a>
        <nav aria-label="Main">
          <ul>
            {panel.nav.map((item) => (
              <li key={item.path}>
                <a href={`#/${item.path}`} aria-current={section === item.path ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="whoami">
          <span>
            {session.username} <span class="role">{session.role}</span>
          </span>
          <button type="button" class="ghost" onClick={() => void logOut()}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {panel.page(parts)}
      </main>
    </div>
  );
}
