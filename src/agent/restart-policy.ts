/**
 * When the watchdog restarts a daemon, and when it gives up. Pure: the clock is passed in, so the
 * rules are tested without waiting.
 *
 * A daemon that keeps dying is restarted after a pause that doubles each time (a crash loop must
 * not burn the node's CPU or fill its log), and after `maxFailures` failures inside `windowMs` it
 * is left stopped and reported `failed`: at that point a restart will not help and the admin
 * has to look (chkservd and Plesk's watchdog stop retrying the same way).
 */

export interface RestartPolicySettings {
  /** pause before the first restart */
  basePauseMs: number;
  /** the pause never grows beyond this */
  maxPauseMs: number;
  /** failures inside the window after which the daemon stays stopped */
  maxFailures: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicySettings = {
  basePauseMs: 1000,
  maxPauseMs: 60_000,
  maxFailures: 5,
  windowMs: 10 * 60_000,
};

/** The pause before restart number `attempt` (1 for the first): base, 2x base, 4x base, … up to the cap. */
export function restartPause(settings: RestartPolicySettings, attempt: number): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  return Math.min(settings.maxPauseMs, settings.basePauseMs * 2 ** exponent);
}

/** The failures of one daemon that still count: those inside the sliding window. */
export class FailureWindow {
  private failures: number[] = [];

  constructor(private readonly settings: RestartPolicySettings) {}

  /** Records a failure at `now` and returns how many failures the window now holds. */
  record(now: number): number {
    this.failures = [...this.recent(now), now];
    return this.failures.length;
  }

  count(now: number): number {
    return this.recent(now).length;
  }

  /** True once the window holds maxFailures failures: stop retrying. */
  exhausted(now: number): boolean {
    return this.count(now) >= this.settings.maxFailures;
  }

  /** The admin started it again by hand: earlier failures no longer count against it. */
  clear(): void {
    this.failures = [];
  }

  private recent(now: number): number[] {
    return this.failures.filter((at) => now - at < this.settings.windowMs);
  }
}

/**
 * A watchdog setting from the agent's environment: a whole number above 0, else `fallback`. Unlike
 * the parent's settings (core/env-numbers.ts) a bad value is not refused: an agent that would not
 * start leaves its node unreachable, so it keeps watching with the defaults.
 */
export function watchdogSettingFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** Reads the watchdog settings an agent was started with (the environment), falling back to the defaults. */
export function restartPolicyFromEnv(env: NodeJS.ProcessEnv): RestartPolicySettings {
  const read = (name: string, fallback: number): number => watchdogSettingFromEnv(env, name, fallback);
  return {
    basePauseMs: read('FLEETPANEL_WATCHDOG_PAUSE_MS', DEFAULT_RESTART_POLICY.basePauseMs),
    maxPauseMs: read('FLEETPANEL_WATCHDOG_MAX_PAUSE_MS', DEFAULT_RESTART_POLICY.maxPauseMs),
    maxFailures: read('FLEETPANEL_WATCHDOG_MAX_FAILURES', DEFAULT_RESTART_POLICY.maxFailures),
    windowMs: read('FLEETPANEL_WATCHDOG_WINDOW_MS', DEFAULT_RESTART_POLICY.windowMs),
  };
}
