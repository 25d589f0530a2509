/**
 * The agent's watchdog: every daemon the agent runs is watched by its process (the PID from its
 * PID file is alive) and by its protocol probes (it answers). A daemon that died or stopped
 * answering (a master stopped with SIGSTOP, a wedged process) is killed with its whole process
 * group and started again after a pause that grows with each failure; one that keeps failing is
 * left stopped as `failed` with the last lines of its log, for the admin. It knows no workload:
 * each driver brings its own probes, log file and after-restart step.
 */
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import type { DaemonDriver, DriverStatus } from './driver.ts';
import { killInstance } from './daemon-process.ts';
import { FailureWindow, restartPause, watchdogSettingFromEnv, type RestartPolicySettings } from './restart-policy.ts';

/** running: up and answering; idle: nothing to serve, so not running (php-fpm without pools); restarting: down, a restart is due; failed: gave up; stopped: by the admin. */
export const SERVICE_STATES = ['running', 'idle', 'restarting', 'failed', 'stopped'] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];

export interface ServiceReport extends DriverStatus {
  state: ServiceState;
  /** restarts the watchdog made since the agent started */
  restarts: number;
  lastRestartAt: string | null;
  /** why it was last restarted, or why it failed */
  problem: string | null;
  /** the last lines of its log, for a failed service */
  logTail?: string[];
}

export interface WatchdogSettings {
  intervalMs: number;
  probeTimeoutMs: number;
  /** consecutive probe failures before a running process counts as hung */
  probeFailures: number;
  policy: RestartPolicySettings;
}

interface Watched {
  state: ServiceState;
  restarts: number;
  lastRestartAt: number | null;
  problem: string | null;
  logTail?: string[];
  failures: FailureWindow;
  probeFailures: number;
  lastPid?: number;
  /** a check, restart or admin action is under way: the next tick leaves it alone */
  busy: boolean;
  timer?: NodeJS.Timeout;
}

const LOG_TAIL_LINES = 15;

export class Watchdog {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    /** the daemons the agent runs now (its roles decide which) */
    private readonly daemons: () => ReadonlyMap<string, DaemonDriver>,
    private readonly settings: WatchdogSettings,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void,
    /** the names the admin stopped, kept across agent restarts */
    private readonly adminStopped: { has(name: string): boolean; set(name: string, stopped: boolean): void },
  ) {}

  start(): void {
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      await this.checkAll().catch((error: unknown) => this.log('watchdog check failed', { error: (error as Error).message }));
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.settings.intervalMs);
    };
    this.timer = setTimeout(() => void tick(), this.settings.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const entry of this.watched.values()) if (entry.timer) clearTimeout(entry.timer);
  }

  private entry(name: string): Watched {
    let entry = this.watched.get(name);
    if (!entry) {
      entry = {
        state: this.adminStopped.has(name) ? 'stopped' : 'running',
        restarts: 0,
        lastRestartAt: null,
        problem: null,
        failures: new FailureWindow(this.settings.policy),
        probeFailures: 0,
        busy: false,
      };
      this.watched.set(name, entry);
    }
    return entry;
  }

  /** Whether the agent should start this daemon when it (re)starts its roles' daemons. */
  wantsRunning(name: string): boolean {
    return !this.adminStopped.has(name);
  }

  async checkAll(): Promise<void> {
    await Promise.all([...this.daemons().values()].map((daemon) => this.check(daemon)));
  }

  private async check(daemon: DaemonDriver): Promise<void> {
    const entry = this.entry(daemon.name);
    if (entry.busy || entry.state !== 'running') return;
    entry.busy = true;
    try {
      const status = await daemon.status();
      if (!status.running && status.idle) return;
      if (!status.running) {
        await this.failed(daemon, entry, `the process${entry.lastPid ? ` (pid ${entry.lastPid})` : ''} is gone`);
        return;
      }
      entry.lastPid = status.pid;
      for (const probe of daemon.probes?.() ?? []) {
        try {
          await probe.run(this.settings.probeTimeoutMs);
        } catch (error) {
          entry.probeFailures++;
          if (entry.probeFailures >= this.settings.probeFailures) {
            await this.failed(daemon, entry, `not answering: ${(error as Error).message}`);
          }
          return;
        }
      }
      entry.probeFailures = 0;
    } finally {
      entry.busy = false;
    }
  }

  /** Records a failure, then schedules the restart, or gives up. */
  private async failed(daemon: DaemonDriver, entry: Watched, problem: string): Promise<void> {
    const now = Date.now();
    entry.probeFailures = 0;
    entry.problem = problem;
    const failures = entry.failures.record(now);
    // Whatever is left of it (a stopped master, orphaned workers) goes now, so it cannot hold the ports.
    await killInstance(entry.lastPid);
    if (entry.failures.exhausted(now)) {
      entry.state = 'failed';
      entry.logTail = logTail(daemon);
      this.log('service failed: giving up after repeated failures', { service: daemon.name, failures, problem });
      return;
    }
    entry.state = 'restarting';
    const pause = restartPause(this.settings.policy, failures);
    this.log('service down: restarting', { service: daemon.name, problem, pauseMs: pause, failures });
    entry.timer = setTimeout(() => void this.restart(daemon, entry), pause);
  }

  /** Starts the daemon and holds it running only if it stayed up (or has nothing to serve). */
  private async startAndConfirm(daemon: DaemonDriver, entry: Watched): Promise<DriverStatus> {
    await daemon.start();
    const status = await daemon.status();
    if (!status.running && !status.idle) throw new Error('it exited right after starting');
    entry.lastPid = status.pid;
    entry.state = 'running';
    entry.logTail = undefined;
    return status;
  }

  private async restart(daemon: DaemonDriver, entry: Watched): Promise<void> {
    if (this.stopped || entry.state !== 'restarting' || this.daemons().get(daemon.name) !== daemon) return;
    entry.busy = true;
    try {
      const status = await this.startAndConfirm(daemon, entry);
      entry.restarts++;
      entry.lastRestartAt = Date.now();
      this.log('service restarted', { service: daemon.name, pid: status.pid, restarts: entry.restarts });
      await daemon.afterRestart?.().catch((error: unknown) => this.log('after-restart step failed', { service: daemon.name, error: (error as Error).message }));
    } catch (error) {
      await this.failed(daemon, entry, `restart failed: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      entry.busy = false;
    }
  }

  report(daemon: DaemonDriver, status: DriverStatus): ServiceReport {
    const entry = this.entry(daemon.name);
    return {
      ...status,
      state: entry.state === 'running' && !status.running && status.idle ? 'idle' : entry.state,
      restarts: entry.restarts,
      lastRestartAt: entry.lastRestartAt === null ? null : new Date(entry.lastRestartAt).toISOString(),
      problem: entry.problem,
      ...(entry.state === 'failed' && entry.logTail ? { logTail: entry.logTail } : {}),
    };
  }

  /** The admin's stop: the watchdog leaves it stopped, across agent restarts too, until started. */
  async stopService(daemon: DaemonDriver): Promise<void> {
    const entry = this.entry(daemon.name);
    await this.whileBusy(entry, async () => {
      if (entry.timer) clearTimeout(entry.timer);
      this.adminStopped.set(daemon.name, true);
      entry.state = 'stopped';
      entry.problem = 'stopped by the admin';
      await daemon.stop();
    });
  }

  /** The admin's start (also of a failed service): earlier failures are forgotten. Throws when it does not come up. */
  async startService(daemon: DaemonDriver, restart = false): Promise<void> {
    const entry = this.entry(daemon.name);
    await this.whileBusy(entry, async () => {
      if (entry.timer) clearTimeout(entry.timer);
      this.adminStopped.set(daemon.name, false);
      entry.failures.clear();
      entry.probeFailures = 0;
      if (restart) await daemon.stop();
      await killInstance((await daemon.status()).running ? undefined : entry.lastPid);
      try {
        await this.startAndConfirm(daemon, entry);
        entry.problem = null;
        await daemon.afterRestart?.().catch(() => undefined);
      } catch (error) {
        entry.state = 'failed';
        entry.problem = `start failed: ${(error as Error).message.split('\n')[0]}`;
        entry.logTail = logTail(daemon);
        throw error;
      }
    });
  }

  private async whileBusy(entry: Watched, task: () => Promise<void>): Promise<void> {
    // A check or restart in flight finishes first; the admin's action must not interleave with it.
    for (let waited = 0; entry.busy && waited < 30_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    entry.busy = true;
    try {
      await task();
    } finally {
      entry.busy = false;
    }
  }
}

/** The last lines of the daemon's log (read from its end, the log may be large). */
function logTail(daemon: DaemonDriver): string[] | undefined {
  const file = daemon.logFilePath?.();
  if (!file || !existsSync(file)) return undefined;
  const size = statSync(file).size;
  const length = Math.min(size, 16_384);
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  return buffer
    .toString('utf8')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '')
    .slice(-LOG_TAIL_LINES);
}

export function watchdogSettingsFromEnv(env: NodeJS.ProcessEnv, policy: RestartPolicySettings): WatchdogSettings {
  const read = (name: string, fallback: number): number => watchdogSettingFromEnv(env, name, fallback);
  return {
    intervalMs: read('FLEETPANEL_WATCHDOG_INTERVAL_MS', 5000),
    probeTimeoutMs: read('FLEETPANEL_WATCHDOG_PROBE_TIMEOUT_MS', 3000),
    probeFailures: read('FLEETPANEL_WATCHDOG_PROBE_FAILURES', 2),
    policy,
  };
}
