/**
 * The running processes as /proc shows them, for tests that check who runs what (a pool's
 * workers under the account's user, no process left after a suspension).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface RunningProcess {
  pid: number;
  uid: number;
  /** The command line with its NUL separators, as a process may rewrite it (php-fpm's "pool x"). */
  cmdline: string;
}

export function runningProcesses(): RunningProcess[] {
  const found: RunningProcess[] = [];
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (uid === undefined) continue;
      found.push({ pid: Number(entry), uid: Number(uid), cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8') });
    } catch {
      // gone between the listing and the read
    }
  }
  return found;
}

/** PIDs of the processes running as the user. */
export function processesOf(uid: number): number[] {
  return runningProcesses()
    .filter((process) => process.uid === uid)
    .map((process) => process.pid);
}

/** The user ids of the processes whose command line starts with `title`. */
export function processUids(title: string): Set<number> {
  return new Set(
    runningProcesses()
      .filter((process) => process.cmdline.startsWith(title))
      .map((process) => process.uid),
  );
}
