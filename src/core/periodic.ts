/**
 * Background passes of the parent's domains (renewals, maintenance): one pass at a time (a slow
 * pass is never overlapped by the next), a failing pass logged and retried by the next one, and
 * the timer never keeps the process alive or outlives the parent.
 */

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
