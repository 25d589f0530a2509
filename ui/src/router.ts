/**
 * Hash routes (#/accounts/carol): the parent serves one page at `/`, and a reload or a shared
 * link lands on the same view after the login.
 */
import { signal } from '@preact/signals';

export const route = signal(readHash());

function readHash(): string[] {
  return location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
}

addEventListener('hashchange', () => {
  route.value = readHash();
  // Screen readers and keyboards start at the new view's heading, as after a page load.
  queueMicrotask(() => document.querySelector<HTMLElement>('main h1')?.focus());
});

export function href(...parts: (string | number)[]): string {
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;
}

export function navigate(...parts: (string | number)[]): void {
  location.hash = href(...parts);
}
