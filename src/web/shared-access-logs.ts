/**
 * A shared site's access log (nginx-config.ts isSharedSite) is opened by an nginx worker, since
 * its path has variables, not by the master running as root as a site's own server block's is.
 * The worker may not create files in the account's logs folder, so the agent makes the file
 * before nginx serves the site: the worker's, readable by the account's group (the folder's).
 */
import { chownSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { isSharedSite, sharedSiteAccessLog, type NginxPaths } from './nginx-config.ts';
import type { WebSite } from '../protocol/web-state.ts';
import { lookupUser } from '../php/system-users.ts';

/** `workerUser` undefined: nginx runs as the agent's own user, which made the file. */
export function ensureSharedAccessLogs(sites: readonly WebSite[], paths: NginxPaths, workerUser: string | undefined): void {
  const worker = workerUser === undefined ? undefined : lookupUser(workerUser);
  for (const site of sites) {
    if (!isSharedSite(site, paths)) continue;
    const path = sharedSiteAccessLog(site);
    // The PHP module makes the folder with the account's pool; a site served before that has no log yet.
    if (!existsSync(dirname(path))) continue;
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o640));
    // An earlier version's file is root's: its master opened it.
    if (worker !== undefined && statSync(path).uid !== worker.uid) chownSync(path, worker.uid, statSync(dirname(path)).gid);
  }
}
