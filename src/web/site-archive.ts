/**
 * One site's files as a tar stream (its folder www/<account>/<domain>: public_html and what the
 * account keeps beside it), so an account transfer copies them at disk speed to a node of another
 * pair. The target extracts as the account's own system user into a staging folder, so a member
 * of the archive can never land outside the account's home nor belong to anyone else, and swaps
 * it in place of the new site's placeholder only when the stream ended well.
 */
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { InternalError, NotFoundError } from '../core/errors.ts';
import { tarFolder, untarInto } from '../core/tar-stream.ts';

export const SITE_ARCHIVE_TYPE = 'application/x-tar';

/** The site folder as a tar stream; the stream breaks off (never ends short) when tar fails. */
export function exportSite(siteDir: string, domain: string): Readable {
  if (!existsSync(siteDir)) throw new NotFoundError('site', domain);
  return tarFolder(siteDir, ['./logs', './tmp'], `the site ${domain}`);
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
    await untarInto(input, staging, owner, `the site ${siteDir}`);
    const previous = `${staging}.previous`;
    if (existsSync(siteDir)) renameSync(siteDir, previous);
    renameSync(staging, siteDir);
    rmSync(previous, { recursive: true, force: true });
    return { placed: true };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
