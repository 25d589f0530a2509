/** All SQL of the job journal. The same queries run on SQLite and PostgreSQL. */
import type { Selectable, Updateable } from 'kysely';
import type { Store } from '../store/database.ts';
import type { JobsTables } from '../store/migrations/030-jobs.ts';
import { ACTIVE_JOB_STATES, type JobEventView, type JobState, type StepState } from './job.model.ts';

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
}
