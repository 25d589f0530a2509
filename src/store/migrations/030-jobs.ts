import type { Kysely, Generated } from 'kysely';
import { autoId } from './helpers.ts';

/**
 * The job journal. Retries, back-off and the per-key queue are columns rather than in-memory
 * state, so a parent that is killed and started again knows exactly where every job stood.
 */
export interface JobsTables {
  jobs: {
    id: Generated<number>;
    type: string;
    /** what the job locks, e.g. `account:alice`; one active job per key */
    key: string;
    /** queued | running | succeeded | failed | rolling_back | rolled_back | held */
    state: string;
    /** JSON object: the caller's input plus every step's output */
    data: string;
    current_step: string | null;
    /** attempts of the current step (or of its undo) since it last succeeded */
    attempts: number;
    error: string | null;
    error_kind: string | null;
    /** epoch ms before which the worker leaves the job alone (retry back-off) */
    run_after: number;
    /** epoch ms of the first failure of the current attempt series, for the max age of node waits */
    retrying_since: number | null;
    cancel_requested: number;
    /** the engine instance that last claimed the job; a different one after a restart */
    locked_by: string | null;
    created_by: string | null;
    created_at: number;
    updated_at: number;
    finished_at: number | null;
  };
  job_steps: {
    id: Generated<number>;
    job_id: number;
    position: number;
    name: string;
    /** pending | running | done | failed | undoing | undone | skipped */
    state: string;
    attempts: number;
    started_at: number | null;
    finished_at: number | null;
    error: string | null;
    /** JSON object the step returned (merged into the job's data) */
    output: string | null;
  };
  job_events: {
    id: Generated<number>;
    job_id: number;
    at: number;
    step: string | null;
    /** progress | state | error */
    kind: string;
    message: string;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('type', 'varchar(100)', (c) => c.notNull())
    .addColumn('key', 'varchar(200)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('current_step', 'varchar(100)')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('error_kind', 'varchar(32)')
    .addColumn('run_after', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('retrying_since', 'bigint')
    .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_by', 'varchar(64)')
    .addColumn('created_by', 'varchar(64)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema.createIndex('jobs_state').on('jobs').column('state').execute();
  await db.schema.createIndex('jobs_key').on('jobs').columns(['key', 'id']).execute();
  await db.schema
    .createTable('job_steps')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('job_id', 'integer', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('error', 'text')
    .addColumn('output', 'text')
    .addUniqueConstraint('job_steps_position', ['job_id', 'position'])
    .execute();
  await db.schema
    .createTable('job_events')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('job_id', 'integer', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('step', 'varchar(100)')
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('job_events_job').on('job_events').columns(['job_id', 'id']).execute();
}
