/**
 * A folder as a tar stream and back, for moving mailboxes and sites between nodes. The stream
 * ends only once tar has said it succeeded: a failing tar must reach the other side as a broken
 * stream, never as a short but well-formed archive.
 */
import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';

/** tar's exit code when a file changed while it was read: the copy is still whole for what a later sync reconciles. */
const TAR_SOME_FILES_DIFFER = 1;

const lastLine = (text: string): string => text.trim().split('\n').at(-1) ?? '';

/** `what` names the folder in errors ("the site example.com", "info@example.com"). */
export function tarFolder(dir: string, excludes: string[], what: string): Readable {
  const args = ['-c', '-C', dir, ...excludes.map((pattern) => `--exclude=${pattern}`), '--warning=no-file-changed', '--warning=no-file-removed', '--warning=no-file-shrank', '--ignore-failed-read', '.'];
  const tar = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new PassThrough();
  let stderr = '';
  tar.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  tar.stdout.pipe(out, { end: false });
  tar.on('error', (error) => out.destroy(error));
  tar.on('close', (code) => {
    if (code === 0 || code === TAR_SOME_FILES_DIFFER) out.end();
    else out.destroy(new Error(`tar of ${what} failed (exit ${code}): ${lastLine(stderr)}`));
  });
  out.on('close', () => {
    if (tar.exitCode === null) tar.kill('SIGTERM');
  });
  return out;
}

/** Extracts a stream from tarFolder into `into` as the given user, so nothing lands owned by root. */
export function untarInto(input: Readable, into: string, owner: { uid: number; gid: number }, what: string, extraArgs: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['-x', '-C', into, '--no-same-owner', ...extraArgs], { stdio: ['pipe', 'ignore', 'pipe'], uid: owner.uid, gid: owner.gid });
    let stderr = '';
    let inputError: Error | undefined;
    tar.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    input.on('error', (error) => {
      inputError = error;
      tar.kill('SIGTERM');
    });
    // tar closing early (a broken archive) makes stdin fail with EPIPE; its exit code says why.
    tar.stdin.on('error', () => undefined);
    input.pipe(tar.stdin);
    tar.on('error', reject);
    tar.on('close', (code) => {
      if (inputError) reject(new Error(`the stream of ${what} broke off: ${inputError.message}`));
      else if (code === 0) resolve();
      else reject(new Error(`tar could not extract ${what} (exit ${code}): ${lastLine(stderr)}`));
    });
  });
}
