/**
 * Background processes of the local cluster (parent, supervised agents, sshd), each started
 * detached with its own log and recorded by PID, so `demo down` and test teardown stop exactly
 * what they started.
 */
import { spawn } from 'node:child_process';
import { openSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runningPid, stopByPidFile } from '../agent/daemon-process.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_ENTRY = join(REPO_ROOT, 'src', 'cli', 'main.ts');
/** ./fleetpanel: runs the compiled CLI, rebuilt first when src/ changed since the last build */
export const CLI_LAUNCHER = join(REPO_ROOT, 'fleetpanel');

export function startBackground(pidFile: string, logFile: string, file: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const existing = runningPid(pidFile);
  if (existing !== undefined) return existing;
  mkdirSync(dirname(pidFile), { recursive: true });
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  const child = spawn(file, args, { detached: true, stdio: ['ignore', out, out], env });
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  return child.pid!;
}

/**
 * Runs `fleetpanel <args>` in the background as an administrator would: through the launcher,
 * which execs Node on the compiled build (same PID), so the parent and agents of the demo and
 * of the tests run the code of this checkout as it is now, without compiling at each start.
 */
export function startCliBackground(pidFile: string, logFile: string, args: string[]): number {
  return startBackground(pidFile, logFile, CLI_LAUNCHER, args, { ...process.env, NODE_OPTIONS: '' });
}

export { stopByPidFile, runningPid };
