import assert from 'node:assert/strict';
import { imapSubjects, type ImapLogin } from './mail-clients.ts';

/**
 * Waits until every subject can be read over IMAP with `login` (polling while mail is on its way),
 * then asserts that none of them is there twice. What was never accepted is not asked for.
 */
export async function assertExactlyOnce(login: ImapLogin, subjects: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: string[] = [];
  for (;;) {
    seen = await imapSubjects(login).catch(() => seen);
    const have = new Set(seen);
    if (subjects.every((s) => have.has(s))) break;
    if (Date.now() > deadline) assert.fail(`${login.user} at ${login.host} lacks ${subjects.filter((s) => !have.has(s)).join(', ')} (of ${subjects.length}) after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const counts = new Map<string, number>();
  for (const subject of seen) counts.set(subject, (counts.get(subject) ?? 0) + 1);
  assert.deepEqual([...counts].filter(([subject, count]) => count > 1 && subjects.includes(subject)), [], `messages doubled in ${login.user}`);
}
