/**
 * Where the job engine reads the time: the journal's timestamps, retry times and wait deadlines
 * all come from one clock, so a test can pin or move time without patching Date. Timers
 * (polling, stop timeouts) still wait in real time; the clock only says what time it is.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The clock's time in milliseconds, the unit the journal stores. */
export function nowMs(clock: Clock): number {
  return clock.now().getTime();
}
