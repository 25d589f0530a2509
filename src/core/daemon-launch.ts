/**
 * Starts a daemon that forks into the background. run() cannot be used for that: it waits for
 * the child's stdout and stderr to close, and Dovecot's master keeps the stderr it inherited
 * open for its whole life, so run() only returned at its 60 s timeout. Here the daemon's
 * stdout and stderr go to its own log file instead, and only the launcher's exit is awaited.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { CommandError } from '../core/exec.ts';

export async function launchDaemon(file: string, args: string[], logFile: string): Promise<void> {
  mkdirSync(dirname(logFile), { recursive: true });
  const output = openSync(logFile, 'a');
  const logSizeBefore = statSync(logFile).size;
  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(file, args, { stdio: ['ignore', output, output] });
      child.once('error', reject);
      child.once('exit', (code) => resolve(code));
    });
    if (exitCode !== 0) {
      // What the launcher printed before giving up is the only explanation there is.
      const printed = readFileSync(logFile, 'utf8').slice(logSizeBefore);
      throw new CommandError([file, ...args], exitCode, '', printed);
    }
  } finally {
    closeSync(output);
  }
}
