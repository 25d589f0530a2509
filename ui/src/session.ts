/**
 * The login session. The bearer token lives only in this module's memory: no cookie carries it,
 * so another site cannot make the browser send it (CSRF is impossible by design), and a reload
 * or a closed tab ends the session. It also ends at the token's expiry and after IDLE_MS without
 * a keystroke or click, whichever comes first.
 */
import { signal } from '@preact/signals';

export type Role = 'admin' | 'reseller' | 'user';

export interface SessionState {
  token: string;
  username: string;
  role: Role;
  expiresAt: number | null;
}

const IDLE_MS = 30 * 60_000;

export const currentSession = signal<SessionState | null>(null);
/** Why the last session ended, shown on the login page. */
export const endReason = signal<string | null>(null);

let idleTimer: ReturnType<typeof setTimeout> | undefined;
let expiryTimer: ReturnType<typeof setTimeout> | undefined;

function armIdle(): void {
  clearTimeout(idleTimer);
  if (currentSession.value) idleTimer = setTimeout(() => endSession('You were logged out after 30 minutes without activity.'), IDLE_MS);
}

export function startSession(state: SessionState): void {
  endReason.value = null;
  currentSession.value = state;
  armIdle();
  clearTimeout(expiryTimer);
  if (state.expiresAt !== null) {
    // setTimeout overflows past 2^31 ms; a token that lives longer is checked by the API anyway.
    const left = Math.min(state.expiresAt - Date.now(), 2 ** 31 - 1);
    expiryTimer = setTimeout(() => endSession('Your session expired; log in again.'), Math.max(0, left));
  }
}

export function endSession(reason: string | null): void {
  clearTimeout(idleTimer);
  clearTimeout(expiryTimer);
  currentSession.value = null;
  endReason.value = reason;
}

export function token(): string | null {
  return currentSession.value?.token ?? null;
}

for (const type of ['keydown', 'pointerdown'] as const) addEventListener(type, armIdle, { passive: true });
