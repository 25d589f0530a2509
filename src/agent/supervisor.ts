/**
 * Where a node has no systemd (the local cluster), the agent runs under this supervisor: it
 * restarts the agent when it dies, with a growing pause, and stops it on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export function superviseSelf(): void {
  const args = process.argv.slice(1).filter((a) => a !== '--supervise');
  let child: ChildProcess | undefined;
  let stopping = false;
  let failures = 0;
  const start = (): void => {
    const startedAt = Date.now();
    child = spawn(process.execPath, [...process.execArgv, ...args], { stdio: 'inherit' });
    child.on('exit', (code, signal) => {
      if (stopping) process.exit(0);
      failures = Date.now() - startedAt > 30_000 ? 0 : failures + 1;
      const pause = Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
      console.log(JSON.stringify({ at: new Date().toISOString(), message: 'agent exited; restarting', code, signal, pauseMs: pause }));
      setTimeout(start, pause);
    });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stopping = true;
      if (child && child.exitCode === null) child.kill('SIGTERM');
      else process.exit(0);
    });
  }
  start();
}
