/**
 * The system user each account's PHP runs as on a node. Several nodes share one machine in the
 * local cluster, so the name carries the node as well as the account: `fp<6 hex of the node
 * root's hash>-<account>` (at most 25 characters, within Linux's 32), with its home under that
 * node's root. A real node has one root, so its users differ only by account.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { CommandError, run } from '../core/exec.ts';
import { assertValid, checkUsername } from '../core/grammar.ts';

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
}

export function nodeUserPrefix(nodeRoot: string): string {
  return `fp${createHash('sha256').update(nodeRoot).digest('hex').slice(0, 6)}-`;
}

export function accountSystemUser(nodeRoot: string, account: string): string {
  return nodeUserPrefix(nodeRoot) + assertValid('account', account, checkUsername);
}

/**
 * /etc/passwd by user name, read again only when the file changed (useradd and userdel replace
 * it): a node's web push looks up every account's user, and a node with thousands of accounts
 * has a passwd file of thousands of lines, which re-reading per lookup made cost the square.
 */
let passwd: { version: string; users: Map<string, SystemUser> } | undefined;

function passwdUsers(): Map<string, SystemUser> {
  const stat = statSync('/etc/passwd', { bigint: true });
  const version = `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  if (passwd?.version !== version) {
    const users = new Map<string, SystemUser>();
    for (const entry of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid, gid] = entry.split(':');
      if (name && uid !== undefined && gid !== undefined && !users.has(name)) users.set(name, { name, uid: Number(uid), gid: Number(gid) });
    }
    passwd = { version, users };
  }
  return passwd.users;
}

export function lookupUser(name: string): SystemUser | undefined {
  const user = passwdUsers().get(name);
  return user ? { ...user } : undefined;
}

/** useradd and userdel refuse while another process holds /etc/passwd's lock; they are simply tried again. */
async function withPasswdLock(argv: [string, ...string[]]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await run(argv[0], argv.slice(1));
      return;
    } catch (error) {
      if (!(error instanceof CommandError) || attempt >= 20 || !/lock/i.test(error.stderr)) throw error;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

/**
 * Each of these users, created when missing: a user with a group of its own (same name),
 * no login shell, no password (locked), home given (not created here). Every missing one is
 * created by one `systemd-sysusers` call, which takes /etc/.pwd.lock once (the lock useradd and
 * userdel take too, waiting for it rather than failing) and writes /etc/passwd, group, shadow and
 * gshadow once for all of them: `useradd` one at a time rewrote and synced the four files per
 * user, a third of a second each on a busy machine, which a batch of new accounts paid in turn.
 */
/**
 * Where the accounts' user and group ids come from. systemd-sysusers takes them from Debian's
 * system range (100 to 999) unless told otherwise, which ran out at about 850 accounts on one
 * machine (a node of 2,000 accounts could not exist); this is inside the range of ordinary users
 * (login.defs: 1000 to 60000), allocated from the top down, away from the people useradd numbers
 * from 1000 up. sysusers still skips every id already in /etc/passwd or /etc/group.
 */
export const ACCOUNT_ID_RANGE = { lowest: 10_000, highest: 59_999 } as const;

export async function ensureSystemUsers(users: readonly { name: string; home: string }[]): Promise<void> {
  const missing = users.filter((user) => !lookupUser(user.name));
  if (missing.length === 0) return;
  for (const user of missing) {
    // sysusers.d lines are split at whitespace; a name or home with any would shift the fields.
    if (!/^[a-z_][a-z0-9_-]*$/.test(user.name) || !/^\/[^\s"'\\]+$/.test(user.home)) throw new Error(`not a system user to create: ${user.name} ${user.home}`);
  }
  const range = `r - ${ACCOUNT_ID_RANGE.lowest}-${ACCOUNT_ID_RANGE.highest}\n`;
  const config = range + missing.map((user) => `u ${user.name} - - ${user.home} /usr/sbin/nologin\n`).join('');
  await run('systemd-sysusers', ['-'], { input: config });
  const absent = missing.filter((user) => !lookupUser(user.name));
  if (absent.length > 0) throw new Error(`systemd-sysusers did not create ${absent.map((user) => user.name).join(', ')}`);
}

/** One user, as ensureSystemUsers. */
export async function ensureSystemUser(name: string, home: string): Promise<SystemUser> {
  await ensureSystemUsers([{ name, home }]);
  return lookupUser(name)!;
}

export async function removeSystemUser(name: string): Promise<void> {
  if (!lookupUser(name)) return;
  await withPasswdLock(['userdel', name]);
}

/** Every user of one node (test and demo teardown). */
export async function removeNodeUsers(nodeRoot: string): Promise<void> {
  const prefix = nodeUserPrefix(nodeRoot);
  const names = readFileSync('/etc/passwd', 'utf8').split('\n').map((line) => line.split(':')[0] ?? '').filter((name) => name.startsWith(prefix));
  for (const name of names) await removeSystemUser(name);
}
