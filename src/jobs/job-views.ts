/** How journal rows are shown to callers (API, CLI, waiting services): ISO times and parsed data. */
import type { ErrorKind } from '../core/errors.ts';
import { nowMs, systemClock, type Clock } from './clock.ts';
import type { JobEventRow, JobRow, JobStepRow } from './jobs.repository.ts';
import type { JobData, JobEventView, JobState, JobStepView, JobView, StepState } from './job.model.ts';

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function parseData(text: string | null): JobData | null {
  return text === null ? null : (JSON.parse(text) as JobData);
}

/** `retryAt` is shown only while it lies ahead of the clock. */
export function toJobView(row: JobRow, clock: Clock = systemClock): JobView {
  return {
    id: row.id,
    type: row.type,
    key: row.key,
    state: row.state as JobState,
    data: parseData(row.data) ?? {},
    currentStep: row.current_step,
    attempts: row.attempts,
    error: row.error,
    errorKind: row.error_kind as ErrorKind | null,
    cancelRequested: row.cancel_requested === 1,
    retryAt: row.run_after > nowMs(clock) ? iso(row.run_after) : null,
    createdBy: row.created_by,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    finishedAt: iso(row.finished_at),
  };
}

export function toStepView(row: JobStepRow): JobStepView {
  return {
    position: row.position,
    name: row.name,
    state: row.state as StepState,
    attempts: row.attempts,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    error: row.error,
    output: parseData(row.output),
  };
}

export function toEventView(row: JobEventRow): JobEventView {
  return { id: row.id, at: iso(row.at)!, step: row.step, kind: row.kind as JobEventView['kind'], message: row.message };
}
