/**
 * A whole mailbox as one tar stream: how a move copies a mailbox at disk speed. The stream holds
 * the mailbox's home as Dovecot keeps it — the Maildir with dovecot-uidlist (UIDs, UIDVALIDITY
 * and the message GUIDs, so both survive), keywords, subscriptions and indexes — and is written
 * into a node that does not hold that mailbox yet. `doveadm sync` then reconciles only what
 * changed while the stream ran, and the move's verify step checks every GUID as before.
 *
 * The target extracts into a hidden staging folder beside the homes and renames it into place
 * only when the mailbox has no home there yet: a mailbox that already holds mail on the target
 * (a user who logged in there early and saved a draft) is never overwritten; the caller falls
 * back to a full `doveadm sync` for it.
 */
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { NotFoundError } from '../core/errors.ts';
import { run } from '../core/exec.ts';
import { tarFolder, untarInto } from '../core/tar-stream.ts';
import { localPartOf } from '../protocol/mail-state.ts';
import { mailboxHome } from './dovecot-config.ts';
import type { DovecotPaths } from './mail-paths.ts';
import type { MailSystemIds } from './mail-system.ts';

/** What the target did with a stream. */
export interface MailboxImport {
  /** true: the mailbox now is the streamed copy; false: the target already held it, nothing changed */
  placed: boolean;
  reason?: string;
}

const STAGING_PREFIX = '.incoming-';

/**
 * The mailbox's home as a tar stream. Files Dovecot is writing at that moment (tmp/, locks) stay
 * behind; a message renamed from new/ to cur/ while tar reads may come twice, which the target
 * repairs (see dropRenamedTwins).
 */
export function exportMailbox(paths: Pick<DovecotPaths, 'mailRoot'>, address: string): Readable {
  const home = mailboxHome(paths, address);
  if (!existsSync(home)) throw new NotFoundError('mailbox', address);
  // A file Dovecot changes or removes while tar reads it is repaired by the sync that follows.
  return tarFolder(home, ['*/tmp/*', '*.lock'], address);
}

/** Extracts a stream from exportMailbox into the mailbox's home, unless the mailbox is already here. */
export async function importMailbox(paths: Pick<DovecotPaths, 'mailRoot'>, ids: MailSystemIds, address: string, input: Readable): Promise<MailboxImport> {
  const home = mailboxHome(paths, address);
  const domainDir = dirname(home);
  if (!existsSync(domainDir)) {
    mkdirSync(domainDir, { recursive: true, mode: 0o700 });
    chownSync(domainDir, ids.vmailUid, ids.vmailGid);
  }
  // A staging folder left by an import that died (the agent killed mid-stream) goes first.
  const prefix = `${STAGING_PREFIX}${localPartOf(address)}.`;
  for (const entry of readdirSync(domainDir)) if (entry.startsWith(prefix)) rmSync(join(domainDir, entry), { recursive: true, force: true });
  if (holdsMail(home)) {
    // Read to its end before answering: the sender's tar is then done with the source folder, and
    // a body answered half-read would cut the relay's stream under it.
    input.resume();
    await finished(input).catch(() => undefined);
    return { placed: false, reason: 'the mailbox already holds mail here' };
  }
  const staging = join(domainDir, `${prefix}${randomBytes(6).toString('hex')}`);
  mkdirSync(staging, { mode: 0o700 });
  chownSync(staging, ids.vmailUid, ids.vmailGid);
  try {
    // As the mail user, so every file belongs to this node's fleetvmail whatever its id on the source.
    await untarInto(input, staging, { uid: ids.vmailUid, gid: ids.vmailGid }, `the mailbox ${address}`, ['--preserve-permissions']);
    dropRenamedTwins(staging);
    try {
      if (existsSync(home) && !holdsMail(home)) rmSync(home, { recursive: true, force: true });
      // rename() refuses a home that appeared meanwhile with something in it: that one is kept.
      renameSync(staging, home);
      // On disk before the answer: the move removes the source's copy once this one is verified,
      // which reads it back from memory. syncfs writes the file system's dirty data in one go.
      await run('sync', ['--file-system', home]);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (error as NodeJS.ErrnoException).code === 'EEXIST') {
        return { placed: false, reason: 'the mailbox got mail here while the copy ran' };
      }
      throw error;
    }
    return { placed: true };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** A home counts as holding mail once it has any message file. */
function holdsMail(home: string): boolean {
  if (!existsSync(home)) return false;
  return maildirFolders(join(home, 'Maildir')).some((folder) => ['new', 'cur'].some((part) => listNames(join(folder, part)).length > 0));
}


/**
 * Dovecot moves a message from new/ to cur/ when a client first sees it. If that happened while
 * tar read the folder, the archive holds the message under both, and Dovecot would give the
 * second one a UID of its own: a doubled message. The cur/ one (with its flags) is kept.
 */
function dropRenamedTwins(home: string): void {
  for (const folder of maildirFolders(join(home, 'Maildir'))) {
    const seen = new Set(listNames(join(folder, 'cur')).map(baseName));
    for (const name of listNames(join(folder, 'new'))) if (seen.has(baseName(name))) unlinkSync(join(folder, 'new', name));
  }
}

const baseName = (file: string): string => file.split(':')[0]!;

/** The Maildir and its subfolders (Maildir++: `.Sent`, `.Archive.2024`, …). */
function maildirFolders(maildir: string): string[] {
  if (!existsSync(maildir)) return [];
  return [maildir, ...readdirSync(maildir, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name.startsWith('.') && e.name !== '.' && e.name !== '..').map((e) => join(maildir, e.name))];
}

function listNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
