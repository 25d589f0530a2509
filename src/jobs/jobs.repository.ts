/**
 * All SQL of the job journal, and its transitions. The same queries run on SQLite and PostgreSQL.
 * Each transition is one transaction: a parent killed at any point leaves all of it or none. The
 * wording of the events is the caller's; the repository only records it.
 */
import type { Selectable, Updateable } from 'kysely';
import type { Store } from '../store/database.ts';
import type { JobsTables } from '../store/migrations/030-jobs.ts';
import { ACTIVE_JOB_STATES, type JobData, type JobEventView, type JobState, type StepState } from './job.model.ts';

export type JobRow = Selectable<JobsTables['jobs']>;
export type JobStepRow = Selectable<JobsTables['job_steps']>;
export type JobEventRow = Selectable<JobsTables['job_events']>;
export type JobPatch = Updateable<JobsTables['jobs']>;
export type JobStepPatch = Updateable<JobsTables['job_steps']>;

export interface NewJob {
  type: string;
  key: string;
  data: string;
  stepNames: readonly string[];
  createdBy: string | null;
  now: number;
}

/** A line of a job's history, written with the change it describes. */
export interface JournalEvent {
  step: string | null;
  kind: JobEventView['kind'];
  message: string;
}

/** The states a job stops moving in: over, or waiting for an admin. */
export type SettledState = 'succeeded' | 'rolled_back' | 'abandoned' | 'held' | 'failed';

/** A job in one of these is over: its pending steps will never run, and it has a finish time. */
const OVER_STATES: readonly SettledState[] = ['succeeded', 'rolled_back', 'abandoned'];

export type StepPhase = 'run' | 'undo';

export interface JobFilter {
  key?: string;
  state?: JobState;
  /** only jobs with one of these keys (for principals who see part of the jobs) */
  keys?: readonly string[];
  limit: number;
}

export class JobsRepository {
  constructor(private readonly db: Store) {}

  /** Runs `work` in one transaction; the repository it is handed writes inside it. */
  transaction<T>(work: (repository: JobsRepository) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new JobsRepository(trx)));
  }

  async insertJob(job: NewJob): Promise<number> {
    const inserted = await this.db
      .insertInto('jobs')
      .values({
        type: job.type,
        key: job.key,
        state: 'queued',
        data: job.data,
        current_step: null,
        attempts: 0,
        run_after: 0,
        cancel_requested: 0,
        created_by: job.createdBy,
        created_at: job.now,
        updated_at: job.now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await this.db
      .insertInto('job_steps')
      .values(job.stepNames.map((name, position) => ({ job_id: inserted.id, position, name, state: 'pending', attempts: 0 })))
      .execute();
    return inserted.id;
  }

  job(id: number): Promise<JobRow | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  steps(jobId: number): Promise<JobStepRow[]> {
    return this.db.selectFrom('job_steps').selectAll().where('job_id', '=', jobId).orderBy('position').execute();
  }

  events(jobId: number, afterId: number, limit: number): Promise<JobEventRow[]> {
    return this.db.selectFrom('job_events').selectAll().where('job_id', '=', jobId).where('id', '>', afterId).orderBy('id').limit(limit).execute();
  }

  list(filter: JobFilter): Promise<JobRow[]> {
    let query = this.db.selectFrom('jobs').selectAll();
    if (filter.key !== undefined) query = query.where('key', '=', filter.key);
    if (filter.state !== undefined) query = query.where('state', '=', filter.state);
    if (filter.keys !== undefined) {
      if (filter.keys.length === 0) return Promise.resolve([]);
      query = query.where('key', 'in', filter.keys);
    }
    return query.orderBy('id', 'desc').limit(filter.limit).execute();
  }

  /** Every job that holds its key, oldest first: the head of each key's queue comes first. */
  activeJobs(): Promise<JobRow[]> {
    return this.db.selectFrom('jobs').selectAll().where('state', 'in', ACTIVE_JOB_STATES).orderBy('id').execute();
  }

  firstActiveForKey(key: string): Promise<JobRow | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('key', '=', key).where('state', 'in', ACTIVE_JOB_STATES).orderBy('id').limit(1).executeTakeFirst();
  }

  /** Changes a job only if it is still in one of `fromStates`; says whether it did. */
  async updateJobIn(id: number, fromStates: readonly JobState[], patch: JobPatch): Promise<boolean> {
    const result = await this.db.updateTable('jobs').set(patch).where('id', '=', id).where('state', 'in', fromStates).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async updateJob(id: number, patch: JobPatch): Promise<void> {
    await this.db.updateTable('jobs').set(patch).where('id', '=', id).execute();
  }

  async updateStep(jobId: number, position: number, patch: JobStepPatch): Promise<void> {
    await this.db.updateTable('job_steps').set(patch).where('job_id', '=', jobId).where('position', '=', position).execute();
  }

  async updateStepsIn(jobId: number, fromStates: readonly StepState[], patch: JobStepPatch): Promise<void> {
    await this.db.updateTable('job_steps').set(patch).where('job_id', '=', jobId).where('state', 'in', fromStates).execute();
  }

  async addEvent(jobId: number, at: number, step: string | null, kind: JobEventView['kind'], message: string): Promise<void> {
    await this.db.insertInto('job_events').values({ job_id: jobId, at, step, kind, message }).execute();
  }

  // ---- journal transitions

  /** Moves a job that is still in one of `fromStates` and records why; says whether it moved. */
  transition(id: number, fromStates: readonly JobState[], patch: JobPatch, event: JournalEvent, now: number): Promise<boolean> {
    return this.transaction(async (repository) => {
      if (!(await repository.updateJobIn(id, fromStates, { ...patch, updated_at: now }))) return false;
      await repository.addEvent(id, now, event.step, event.kind, event.message);
      return true;
    });
  }

  /**
   * Stops a job that is still in one of `fromStates`: over (succeeded, rolled back, abandoned:
   * its pending steps are skipped and it gets a finish time) or waiting for an admin (held,
   * failed: its pending steps wait for a retry). Says whether it moved.
   */
  settle(id: number, fromStates: readonly JobState[], state: SettledState, patch: JobPatch, event: JournalEvent, now: number): Promise<boolean> {
    const over = OVER_STATES.includes(state);
    return this.transaction(async (repository) => {
      if (!(await repository.updateJobIn(id, fromStates, { ...patch, state, updated_at: now, ...(over ? { finished_at: now } : {}) }))) return false;
      if (over) await repository.updateStepsIn(id, ['pending'], { state: 'skipped' });
      await repository.addEvent(id, now, event.step, event.kind, event.message);
      return true;
    });
  }

  /** This parent instance takes a job over (after a restart, whoever claimed it before). */
  async claim(id: number, lockedBy: string, event: JournalEvent, now: number): Promise<void> {
    await this.transaction(async (repository) => {
      await repository.updateJob(id, { locked_by: lockedBy, updated_at: now });
      await repository.addEvent(id, now, event.step, event.kind, event.message);
    });
  }

  /**
   * A step (or its undo) starts: the step's mark and the job's current step and attempt are one
   * write. Like every step transition below, it applies only while the job is still running (or
   * rolling back, for an undo): a job an admin ended meanwhile keeps what the admin wrote. Says
   * whether it applied.
   */
  startStep(step: JobStepRow, phase: StepPhase, attempt: number, lockedBy: string, event: JournalEvent, now: number): Promise<boolean> {
    const stepPatch: JobStepPatch =
      phase === 'run' ? { state: 'running', attempts: step.attempts + 1, started_at: step.started_at ?? now, finished_at: null } : { state: 'undoing', attempts: step.attempts + 1 };
    return this.stepTransition(step, phase, { current_step: step.name, attempts: attempt, locked_by: lockedBy }, stepPatch, event, now);
  }

  /**
   * A step is done (or undone). Its output, merged into the job's `data`, and its mark are one
   * write: a crash leaves both or neither. Without `result` (an undo with nothing to undo) the
   * job's data is not touched.
   */
  finishStep(step: JobStepRow, phase: StepPhase, result: { data: JobData; output?: JobData } | null, event: JournalEvent, now: number): Promise<boolean> {
    const cleared: JobPatch = phase === 'run' ? { error: null, error_kind: null } : {};
    const jobPatch: JobPatch = result ? { ...cleared, data: JSON.stringify(result.data), attempts: 0, retrying_since: null } : {};
    const stepPatch: JobStepPatch =
      phase === 'run' ? { state: 'done', finished_at: now, error: null, output: JSON.stringify(result?.output ?? {}) } : { state: 'undone', finished_at: now };
    return this.stepTransition(step, phase, jobPatch, stepPatch, event, now);
  }

  /**
   * A step (or undo) failed and runs again at `retryAt`. While rolling back, the job's error stays
   * the reason for the rollback; the undo's own error is on the step.
   */
  scheduleRetry(step: JobStepRow, phase: StepPhase, error: { message: string; kind: string }, retry: { at: number; failingSince: number }, event: JournalEvent, now: number): Promise<boolean> {
    const shown: JobPatch = phase === 'run' ? { error: error.message, error_kind: error.kind } : {};
    const stepPatch: JobStepPatch = { state: phase === 'run' ? 'failed' : 'undoing', error: error.message };
    return this.stepTransition(step, phase, { ...shown, run_after: retry.at, retrying_since: retry.failingSince }, stepPatch, event, now);
  }

  /** A step (or undo) failed for good; what the job does next is a transition of its own. */
  failStep(step: JobStepRow, phase: StepPhase, error: string, event: JournalEvent | null, now: number): Promise<boolean> {
    return this.stepTransition(step, phase, {}, { state: 'failed', finished_at: now, error }, event, now);
  }

  private stepTransition(step: JobStepRow, phase: StepPhase, jobPatch: JobPatch, stepPatch: JobStepPatch, event: JournalEvent | null, now: number): Promise<boolean> {
    return this.transaction(async (repository) => {
      // The job's row first: it is the guard, and every writer of a job locks it before its steps.
      if (!(await repository.updateJobIn(step.job_id, [phase === 'run' ? 'running' : 'rolling_back'], { ...jobPatch, updated_at: now }))) return false;
      await repository.updateStep(step.job_id, step.position, stepPatch);
      if (event) await repository.addEvent(step.job_id, now, event.step, event.kind, event.message);
      return true;
    });
  }
}
