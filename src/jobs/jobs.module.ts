/**
 * Attaches the job engine to the parent. It comes first among the service modules, so the
 * domains attached after it can register their job types on `ctx.jobs`; the parent starts it
 * once all of them are attached, so its start-up check sees every type.
 */
import type { ParentContext } from '../parent/parent-context.ts';
import { JobEngine } from './job-engine.ts';

function positiveIntegerFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number of at least 1, not '${text}'`);
  return value;
}

export function attachJobEngine(ctx: ParentContext): void {
  const engine = new JobEngine(ctx.db, undefined, {
    concurrency: positiveIntegerFromEnv('FLEETPANEL_JOB_CONCURRENCY'),
    maxAttempts: positiveIntegerFromEnv('FLEETPANEL_JOB_MAX_ATTEMPTS'),
  });
  ctx.jobs = engine;
  ctx.onClose.push(() => engine.stop());
}
