/**
 * Background passes of the parent's domains (renewals, maintenance): one pass at a time (a slow
 * pass is never overlapped by the next), a failing pass logged and retried by the next one, and
 * the timer never keeps the process alive or outlives the parent.
 */
import { ValidationError } from './errors.ts';

/** A period from the environment, in whole milliseconds of at least 100. */
export function msFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 100) throw new ValidationError(name, 'must be a whole number of milliseconds, at least 100');
  return value;
}

/** Runs `pass` every `intervalMs`; `onClose` receives the stop. */
export function runEvery(what: string, intervalMs: number, pass: () => Promise<void>, onClose: (stop: () => void) => void): void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    pass()
      .catch((error: unknown) => void process.stderr.write(`${what}: ${(error as Error).message}\n`))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  onClose(() => clearInterval(timer));
}
