/**
 * One php-fpm master of a node (`php-fpm8.2 --fpm-config`, so several share one machine) and the
 * pool files it holds. A node runs as many as its accounts need (PhpPoolsDriver places them), so a
 * change to one account makes only its own master check and re-read its pools.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { RELOAD_POLL_MS, daemonConfigCheck, killInstance, readPid, runningPid, stopByPidFile, waitFor } from '../agent/daemon-process.ts';
import { launchDaemon } from '../core/daemon-launch.ts';
import { run } from '../core/exec.ts';
import { writeIfChanged } from '../core/files.ts';
import { PHP_REQUEST_GRACE_SECONDS, renderPhpMaster, type PhpMasterPaths } from './php-fpm-config.ts';

export class PhpMaster {
  constructor(
    readonly index: number,
    readonly paths: PhpMasterPaths,
    private readonly phpFpm: string,
    /** where each pool's socket is: a master counts as started once all of them exist */
    private readonly socketOf: (account: string) => string,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** The accounts whose pool files this master holds. */
  pools(): string[] {
    if (!existsSync(this.paths.poolDir)) return [];
    return readdirSync(this.paths.poolDir).filter((f) => f.endsWith('.conf')).map((f) => f.slice(0, -'.conf'.length)).sort();
  }

  pid(): number | undefined {
    return runningPid(this.paths.pidFile);
  }

  /** Its folder and main file; php-fpm itself only once it has a pool (it refuses to start without one). */
  async start(): Promise<void> {
    mkdirSync(this.paths.poolDir, { recursive: true });
    writeIfChanged(this.paths.configFile, renderPhpMaster(this.paths));
    if (this.pools().length === 0 || this.pid() !== undefined) return;
    // Workers of a master that died still hold its sockets; its PID is their group's (setsid), and
    // Linux hands out no PID that still names a group, so this reaches none but them.
    await killInstance(readPid(this.paths.pidFile));
    await this.check();
    await launchDaemon(this.phpFpm, ['--fpm-config', this.paths.configFile], this.paths.errorLog);
    await waitFor(() => this.pid() !== undefined && this.listening(), 10_000, `php-fpm master ${this.index} to listen`);
    this.log('php-fpm started', { master: this.index, pid: this.pid(), pools: this.pools().length });
  }

  async stop(): Promise<void> {
    await stopByPidFile(this.paths.pidFile);
  }

  async check(): Promise<void> {
    await daemonConfigCheck('php-fpm', 'php', () => run(this.phpFpm, ['--fpm-config', this.paths.configFile, '-t']));
  }

  /** SIGUSR2 after the check: the master re-executes itself, re-reads its pools, starts new ones and ends the workers of removed ones. */
  async reload(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return this.start();
    if (this.pools().length === 0) return this.stop();
    await this.check();
    // The re-executed master writes its PID file anew: newer than before once it runs again.
    const before = fileTime(this.paths.pidFile);
    process.kill(pid, 'SIGUSR2');
    // It re-executes once the requests under way are done, or their grace is over.
    const within = PHP_REQUEST_GRACE_SECONDS * 1000 + 10_000;
    await waitFor(() => (fileTime(this.paths.pidFile) ?? 0) > (before ?? 0) && this.pid() !== undefined && this.listening(), within, `php-fpm master ${this.index} to reload its pools`, RELOAD_POLL_MS);
  }

  private listening(): boolean {
    return this.pools().every((account) => existsSync(this.socketOf(account)));
  }
}

function fileTime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}
