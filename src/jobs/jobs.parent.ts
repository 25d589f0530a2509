/**
 * How the job engine plugs into the parent. It is built first, so the domains built after it can
 * register their job types on it; the parent starts it once all of them are built, so its
 * start-up check sees every type.
 */
import { ValidationError } from '../core/errors.ts';
import type { Store } from '../store/database.ts';
import { JobEngine } from './job-engine.ts';

export { registerJobRoutes } from './jobs.routes.ts';

function positiveIntegerFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new ValidationError(name, `must be a whole number of at least 1, not '${text}'`);
  return value;
}

export function buildJobs(deps: { db: Store; onClose: (close: () => Promise<void> | void) => void }): JobEngine {
  const engine = new JobEngine(deps.db, undefined, {
    concurrency: positiveIntegerFromEnv('FLEETPANEL_JOB_CONCURRENCY'),
    maxAttempts: positiveIntegerFromEnv('FLEETPANEL_JOB_MAX_ATTEMPTS'),
  });
  deps.onClose(() => engine.stop());
  return engine;
}
