/**
 * A folder as a tar stream and back, for moving mailboxes and sites between nodes (the
 * broken-stream rules are command-stream.ts's).
 */
import type { Readable } from 'node:stream';
import { commandInput, commandOutput } from './command-stream.ts';

/** tar's exit code when a file changed while it was read: the copy is still whole for what a later sync reconciles. */
const TAR_SOME_FILES_DIFFER = 1;

/** `what` names the folder in errors ("the site example.com", "info@example.com"). */
export function tarFolder(dir: string, excludes: string[], what: string): Readable {
  const args = ['-c', '-C', dir, ...excludes.map((pattern) => `--exclude=${pattern}`), '--warning=no-file-changed', '--warning=no-file-removed', '--warning=no-file-shrank', '--ignore-failed-read', '.'];
  return commandOutput('tar', args, `tar of ${what}`, [0, TAR_SOME_FILES_DIFFER]);
}

/** Extracts a stream from tarFolder into `into` as the given user, so nothing lands owned by root. */
export function untarInto(input: Readable, into: string, owner: { uid: number; gid: number }, what: string, extraArgs: string[] = []): Promise<void> {
  return commandInput(input, 'tar', ['-x', '-C', into, '--no-same-owner', ...extraArgs], what, { uid: owner.uid, gid: owner.gid, failure: `tar could not extract ${what}` });
}
