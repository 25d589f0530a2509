/**
 * How the job engine plugs into the parent. It is built first, so the domains built after it can
 * register their job types on it; the parent starts it once all of them are built, so its
 * start-up check sees every type.
 */
import { wholeNumberFromEnv } from '../core/env-numbers.ts';
import type { Store } from '../store/database.ts';
import { JobEngine } from './job-engine.ts';

export { registerJobRoutes } from './jobs.routes.ts';

export function buildJobs(deps: { db: Store; onClose: (close: () => Promise<void> | void) => void }): JobEngine {
  const engine = new JobEngine(deps.db, undefined, {
    concurrency: wholeNumberFromEnv('FLEETPANEL_JOB_CONCURRENCY'),
    maxAttempts: wholeNumberFromEnv('FLEETPANEL_JOB_MAX_ATTEMPTS'),
  });
  deps.onClose(() => engine.stop());
  return engine;
}
