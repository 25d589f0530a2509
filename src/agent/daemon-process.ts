/**
 * Starting and stopping a daemon instance by PID file. There is no systemd in the local cluster
 * and several instances of one daemon run side by side, so the PID file of the instance is the
 * only reliable handle on it.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { CommandError } from '../core/exec.ts';
import { InternalError, ValidationError } from '../core/errors.ts';
import type { DriverStatus } from './driver.ts';

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function runningPid(pidFile: string): number | undefined {
  const pid = readPid(pidFile);
  return isAlive(pid) ? pid : undefined;
}

/** How often waitFor looks while a change waits for a daemon's reload. */
export const RELOAD_POLL_MS = 10;

/** The status of a daemon known by its PID file: running with that PID, or not running. */
export function pidFileStatus(name: string, pidFile: string): DriverStatus {
  const pid = runningPid(pidFile);
  return pid === undefined ? { name, running: false } : { name, running: true, pid };
}

/**
 * Polls `condition` until it holds. A reload that a change waits for polls at RELOAD_POLL_MS: its
 * checks read a few files, and the 25 ms that the usual step loses on average came twice into
 * every change of a site (php-fpm's, then nginx's).
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string, pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Sends SIGTERM, waits for the process to go, then SIGKILL. Removes the PID file. */
export async function stopByPidFile(pidFile: string, timeoutMs = 10_000): Promise<void> {
  const pid = runningPid(pidFile);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    try {
      await waitFor(() => !isAlive(pid), timeoutMs, `pid ${pid} to exit`);
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  rmSync(pidFile, { force: true });
}

/**
 * Kills what is left of a daemon instance: its master and everything in its process group.
 * Every daemon the agent runs detaches into a session of its own (setsid), so its master's PID is
 * also its group's id; killing only the master would leave nginx workers or Dovecot login
 * processes holding the ports, and the next start would fail with "address in use". Works on a
 * stopped (SIGSTOP) master too, and on a group whose leader is already gone.
 */
export async function killInstance(pid: number | undefined, timeoutMs = 5000): Promise<void> {
  if (pid === undefined || pid <= 1 || pid === process.pid) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      /* no such group or process: nothing left there */
    }
  }
  await waitFor(() => !isAlive(pid) && !groupAlive(pid), timeoutMs, `the processes of pid ${pid} to go`).catch(() => undefined);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a daemon's own check of its configuration. The checker refusing (a command that exits
 * non-zero) becomes a ValidationError "<daemon> rejected its configuration: <what it printed>";
 * any other failure passes through as it is.
 */
export async function daemonConfigCheck(daemon: string, driver: string, check: () => Promise<unknown>, printed = (stderr: string) => stderr.trim()): Promise<void> {
  try {
    await check();
  } catch (error) {
    if (error instanceof CommandError) throw new ValidationError({ message: `${daemon} rejected its configuration: ${printed(error.stderr)}`, details: { driver } });
    throw error;
  }
}

/** From /proc/<pid>/stat: the command name (which may itself hold spaces), the state and the parent's PID. */
function processStat(pid: number): { name: string; state: string; parentPid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), state: state ?? '', parentPid: Number(parent) };
  } catch {
    return undefined;
  }
}

/**
 * The master of a running instance that can take a reload now; otherwise an InternalError naming
 * why not. A master that is gone reloads nothing, and a stopped one (SIGSTOP, a debugger) would
 * act on the signal only once continued, reading whatever its files say by then: either way the
 * change would be acknowledged without being served, so the caller must put its files back.
 */
export function reloadableMaster(daemon: string, pidFile: string): number {
  const pid = runningPid(pidFile);
  if (pid === undefined) throw new InternalError(`${daemon} did not reload: its master process is not running`, { daemon });
  const state = processStat(pid)?.state;
  if (state === 'T' || state === 't') throw new InternalError(`${daemon} did not reload: its master process ${pid} is stopped`, { daemon });
  return pid;
}

/** The process's command line as it shows it (a daemon may rewrite it as its title), or undefined once it is gone. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

/** A child that exited but is not reaped yet is a zombie and no longer does anything. */
export function isLiveChildOf(pid: number, parentPid: number): boolean {
  const stat = processStat(pid);
  return stat !== undefined && stat.parentPid === parentPid && stat.state !== 'Z';
}

/**
 * The PIDs the kernel lists as children of `parentPid` (each of its threads lists those it
 * started), or undefined where the kernel keeps no such list (built without CONFIG_PROC_CHILDREN).
 * One file a thread instead of every process's stat: a reload polls this while it waits.
 */
function listedChildren(parentPid: number): number[] | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${parentPid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const task of tasks) {
    let listed: string;
    try {
      listed = readFileSync(`/proc/${parentPid}/task/${task}/children`, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(`/proc/${parentPid}/task/${task}`)) return undefined;
      continue;
    }
    for (const pid of listed.split(' ')) if (/^[0-9]+$/.test(pid)) children.push(Number(pid));
  }
  return children;
}

/** The live children of a daemon's master; with `names`, only those running one of these commands. */
export function childPids(parentPid: number, names?: readonly string[]): number[] {
  const candidates =
    listedChildren(parentPid) ??
    readdirSync('/proc')
      .filter((entry) => /^[0-9]+$/.test(entry))
      .map(Number);
  return candidates.filter((pid) => {
    const stat = processStat(pid);
    return stat !== undefined && stat.parentPid === parentPid && stat.state !== 'Z' && (names === undefined || names.includes(stat.name));
  });
}
