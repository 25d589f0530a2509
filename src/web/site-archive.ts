/**
 * One site's files as a tar stream (its folder www/<account>/<domain>: public_html and what the
 * account keeps beside it), so an account transfer copies them at disk speed to a node of another
 * pair. The target extracts as the account's own system user into a staging folder, so a member
 * of the archive can never land outside the account's home nor belong to anyone else, and swaps
 * it in place of the new site's placeholder only when the stream ended well.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { InternalError, NotFoundError } from '../core/errors.ts';

export const SITE_ARCHIVE_TYPE = 'application/x-tar';

/** The site folder as a tar stream; the stream breaks off (never ends short) when tar fails. */
export function exportSite(siteDir: string, domain: string): Readable {
  if (!existsSync(siteDir)) throw new NotFoundError('site', domain);
  const tar = spawn('tar', ['-c', '-C', siteDir, '--exclude=./logs', '--exclude=./tmp', '--warning=no-file-changed', '--warning=no-file-removed', '--ignore-failed-read', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new PassThrough();
  let stderr = '';
  tar.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  tar.stdout.pipe(out, { end: false });
  tar.on('error', (error) => out.destroy(error));
  tar.on('close', (code) => {
    if (code === 0 || code === 1) out.end();
    else out.destroy(new Error(`tar of the site ${domain} failed (exit ${code}): ${stderr.trim().split('\n').at(-1) ?? ''}`));
  });
  out.on('close', () => {
    if (tar.exitCode === null) tar.kill('SIGTERM');
  });
  return out;
}

/** Replaces the site folder with the streamed one, extracted as `owner` (the account's system user). */
export async function importSite(siteDir: string, owner: { uid: number; gid: number } | undefined, input: Readable): Promise<{ placed: boolean }> {
  if (!owner) {
    input.resume();
    throw new InternalError(`the site folder ${siteDir} has no system user to own it yet (the site is not set up on this node)`);
  }
  const staging = join(dirname(siteDir), `.incoming-${randomBytes(6).toString('hex')}`);
  mkdirSync(staging, { mode: 0o755 });
  chownSync(staging, owner.uid, owner.gid);
  try {
    await new Promise<void>((resolve, reject) => {
      const tar = spawn('tar', ['-x', '-C', staging, '--no-same-owner'], { stdio: ['pipe', 'ignore', 'pipe'], uid: owner.uid, gid: owner.gid });
      let stderr = '';
      let inputError: Error | undefined;
      tar.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      input.on('error', (error) => {
        inputError = error;
        tar.kill('SIGTERM');
      });
      tar.stdin.on('error', () => undefined);
      input.pipe(tar.stdin);
      tar.on('error', reject);
      tar.on('close', (code) => {
        if (inputError) reject(new Error(`the site stream broke off: ${inputError.message}`));
        else if (code === 0) resolve();
        else reject(new Error(`tar could not extract the site (exit ${code}): ${stderr.trim().split('\n').at(-1) ?? ''}`));
      });
    });
    const previous = `${staging}.previous`;
    if (existsSync(siteDir)) renameSync(siteDir, previous);
    renameSync(staging, siteDir);
    rmSync(previous, { recursive: true, force: true });
    return { placed: true };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
