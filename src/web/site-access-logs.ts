/**
 * A site's access log (nginx-config.ts hasWorkerOpenedLog) is opened by an nginx worker, since
 * its path has variables, not by the master running as root (as an earlier version's was). The
 * worker may not create files in the account's logs folder, so the agent makes the file before
 * nginx serves the site: the worker's, readable by the account's group (the folder's).
 */
import { closeSync, constants, existsSync, fchownSync, fstatSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { hasWorkerOpenedLog, siteAccessLog, type NginxPaths } from './nginx-config.ts';
import type { WebSite } from '../protocol/web-state.ts';
import { lookupUser } from '../php/system-users.ts';

/**
 * The account owns the folder, so whatever stands at the path is the account's doing: the file is
 * opened without following a link and without blocking on a pipe, and changed through its
 * descriptor, so a link to a system file never gets it handed to the workers.
 */
const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** `workerUser` undefined: nginx runs as the agent's own user, which made the file. */
export function ensureSiteAccessLogs(sites: readonly WebSite[], paths: NginxPaths, workerUser: string | undefined): void {
  const worker = workerUser === undefined ? undefined : lookupUser(workerUser);
  for (const site of sites) {
    if (!hasWorkerOpenedLog(site, paths)) continue;
    const path = siteAccessLog(site);
    // The PHP module makes the folder with the account's pool; a site served before that has no log yet.
    if (!existsSync(dirname(path))) continue;
    const fd = openPlainFile(path);
    // What the account put there and would not go (a folder): no log for the site, which nginx's
    // error log then says at each request, rather than a change refused for it.
    if (fd === undefined) continue;
    try {
      // An earlier version's file is root's: its master opened it.
      if (worker !== undefined && fstatSync(fd).uid !== worker.uid) fchownSync(fd, worker.uid, statSync(dirname(path)).gid);
    } finally {
      closeSync(fd);
    }
  }
}

/** A regular file of one link at `path`, opened: anything else there (a link, a pipe) is replaced by a new one. */
function openPlainFile(path: string): number | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, OPEN_FLAGS, 0o640);
      const stat = fstatSync(fd);
      if (stat.isFile() && stat.nlink === 1) return fd;
      closeSync(fd);
    } catch (error) {
      if (!['ELOOP', 'EISDIR', 'ENXIO'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
    try {
      unlinkSync(path);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
