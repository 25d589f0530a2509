/**
 * The durable job engine, as its callers see it: register job types, enqueue, watch, cancel,
 * retry, abandon. The work itself is the worker's (job-worker.ts); every change is a transition
 * of the journal (jobs.repository.ts); what callers are shown is in job-views.ts.
 */
import { EventEmitter } from 'node:events';
import type { Store } from '../store/database.ts';
import { ConflictError, InternalError, NotFoundError, ValidationError } from '../core/errors.ts';
import { SerialByKey } from '../core/serial-by-key.ts';
import type { Principal } from '../auth/principal.ts';
import { nowMs, systemClock, type Clock } from './clock.ts';
import { JobRegistry } from './job-registry.ts';
import { toEventView, toJobView, toStepView } from './job-views.ts';
import { JobCancelled, JobWorker } from './job-worker.ts';
import { JobsRepository, type JobRow } from './jobs.repository.ts';
import { isSettled, type JobData, type JobDefinition, type JobDetail, type JobEventView, type JobState, type JobView } from './job.model.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.ts';

export interface JobEngineOptions extends Partial<RetryPolicy> {
  /** jobs of different keys running at once (default 4) */
  concurrency?: number;
  /** how often the worker looks for work it was not told about (default 1000 ms) */
  pollIntervalMs?: number;
  /** how long stop() waits for running steps after aborting them (default 10 s) */
  stopTimeoutMs?: number;
  /** where the engine reports its own trouble (default: stderr) */
  log?: (line: string) => void;
  /** what time it is for the journal (default: the system clock) */
  clock?: Clock;
}

export interface EnqueueRequest {
  type: string;
  /** what the job locks, e.g. `account:alice` */
  key: string;
  data?: JobData;
  /** 'queue' (default): wait behind the key's running job; 'refuse': throw a ConflictError naming it */
  ifBusy?: 'queue' | 'refuse';
  createdBy?: string;
}

export interface EnqueueOptions {
  /** a Kysely transaction, so the job is queued together with the change that needs it */
  transaction?: Store;
}

export interface JobListFilter {
  key?: string;
  state?: JobState;
  limit?: number;
}

/** Which job keys a principal may see: 'all', or a list (e.g. `account:<name>` of its accounts). */
export type JobVisibility = (principal: Principal) => Promise<readonly string[] | 'all'> | readonly string[] | 'all';

const EVENT_PAGE = 500;

export class JobEngine {
  readonly registry: JobRegistry;
  private readonly repository: JobsRepository;
  private readonly clock: Clock;
  private readonly pollIntervalMs: number;
  private readonly worker: JobWorker;
  private readonly changes = new EventEmitter();
  /** The check for a busy key and the insert must not interleave with another enqueue of the key. */
  private readonly enqueues = new SerialByKey();
  private visibility: JobVisibility = (principal) => (principal.role === 'admin' ? 'all' : []);

  constructor(db: Store, registry: JobRegistry = new JobRegistry(), options: JobEngineOptions = {}) {
    this.repository = new JobsRepository(db);
    this.registry = registry;
    this.clock = options.clock ?? systemClock;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.changes.setMaxListeners(0);
    this.worker = new JobWorker(
      this.repository,
      registry,
      {
        retryPolicy: {
          maxAttempts: options.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
          backoffBaseMs: options.backoffBaseMs ?? DEFAULT_RETRY_POLICY.backoffBaseMs,
          backoffMaxMs: options.backoffMaxMs ?? DEFAULT_RETRY_POLICY.backoffMaxMs,
          nodeUnavailableMaxAgeMs: options.nodeUnavailableMaxAgeMs ?? DEFAULT_RETRY_POLICY.nodeUnavailableMaxAgeMs,
        },
        concurrency: options.concurrency ?? 4,
        pollIntervalMs: this.pollIntervalMs,
        stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
        log: options.log ?? ((line) => process.stderr.write(`jobs: ${line}\n`)),
        clock: this.clock,
      },
      (id) => this.changed(id),
    );
  }

  register<D extends JobData>(definition: JobDefinition<D>): void {
    if (this.worker.isStarted) throw new Error(`job type '${definition.type}': register job types before the engine starts, so its start-up check covers them`);
    this.registry.register(definition);
  }

  /** Who sees which jobs through the API; the accounts domain narrows it for resellers and users. */
  setVisibility(visibility: JobVisibility): void {
    this.visibility = visibility;
  }

  async keysVisibleTo(principal: Principal): Promise<readonly string[] | 'all'> {
    return this.visibility(principal);
  }

  /** Checks the journal against the registered types, then starts the worker loop. */
  start(): Promise<void> {
    return this.worker.start();
  }

  /** Stops taking work, aborts running steps and waits for them; they run again on the next start. */
  stop(): Promise<void> {
    return this.worker.stop();
  }

  async enqueue(request: EnqueueRequest, options: EnqueueOptions = {}): Promise<JobView> {
    const definition = this.registry.get(request.type);
    if (!definition) throw new ValidationError('type', `no job type '${request.type}' is registered (known: ${this.registry.types().join(', ') || 'none'})`);
    if (!request.key || request.key.length > 200) throw new ValidationError('key', 'must be 1 to 200 characters');
    const data = request.data ?? {};
    if (typeof data !== 'object' || Array.isArray(data)) throw new ValidationError('data', 'must be a JSON object');
    // The job, its steps and its first event are written together: a crash never leaves a job without steps.
    const inTransaction = <T>(work: (repository: JobsRepository) => Promise<T>): Promise<T> =>
      options.transaction ? work(new JobsRepository(options.transaction)) : this.repository.transaction(work);
    const view = await this.enqueues.run(request.key, () => inTransaction(async (repository) => {
      const blocking = await repository.firstActiveForKey(request.key);
      if (blocking && request.ifBusy === 'refuse') {
        throw new ConflictError(
          `${request.key} is busy with job ${blocking.id} (${blocking.type}, ${blocking.state}${blocking.current_step ? ` at step ${blocking.current_step}` : ''}); try again when it has finished or watch it with \`fleetpanel job watch ${blocking.id}\``,
          { job: blocking.id },
        );
      }
      const now = this.now();
      const id = await repository.insertJob({
        type: definition.type,
        key: request.key,
        data: JSON.stringify(data),
        stepNames: definition.steps.map((step) => step.name),
        createdBy: request.createdBy ?? null,
        now,
      });
      await repository.addEvent(id, now, null, 'state', blocking ? `queued behind job ${blocking.id} (${blocking.type}) on ${request.key}` : 'queued');
      return this.view((await repository.job(id))!);
    }));
    this.worker.kick();
    return view;
  }

  async get(id: number): Promise<JobDetail> {
    const row = await this.requireJob(id);
    const [steps, events] = await Promise.all([this.repository.steps(id), this.repository.events(id, 0, EVENT_PAGE)]);
    return { ...this.view(row), steps: steps.map(toStepView), events: events.map(toEventView) };
  }

  async list(filter: JobListFilter = {}, visibleKeys: readonly string[] | 'all' = 'all'): Promise<JobView[]> {
    const rows = await this.repository.list({
      key: filter.key,
      state: filter.state,
      keys: visibleKeys === 'all' ? undefined : visibleKeys,
      limit: Math.min(Math.max(filter.limit ?? 100, 1), 1000),
    });
    return rows.map((row) => this.view(row));
  }

  /**
   * Events after `afterId`, with the job's state. With `waitMs`, waits that long for something
   * new when there is nothing yet, so a watcher need not poll quickly.
   */
  async events(id: number, afterId: number, waitMs = 0): Promise<{ job: JobView; events: JobEventView[] }> {
    let row = await this.requireJob(id);
    let events = await this.repository.events(id, afterId, EVENT_PAGE);
    if (events.length === 0 && waitMs > 0 && !isSettled(row.state as JobState)) {
      await this.nextChange(id, waitMs);
      row = await this.requireJob(id);
      events = await this.repository.events(id, afterId, EVENT_PAGE);
    }
    return { job: this.view(row), events: events.map(toEventView) };
  }

  /** Resolves when the job has succeeded, rolled back, or stopped for an admin (held, failed). */
  async waitFor(id: number, timeoutMs = 60_000): Promise<JobView> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      const row = await this.requireJob(id);
      if (isSettled(row.state as JobState)) return this.view(row);
      const left = deadline - this.now();
      if (left <= 0) throw new InternalError(`job ${id} is still ${row.state} after ${timeoutMs} ms`, { job: id });
      // Changes made by this engine wake the wait at once; the poll covers anything else.
      await this.nextChange(id, Math.min(left, this.pollIntervalMs));
    }
  }

  /**
   * Cancels a job: a queued one never starts; a running one stops after its current step (whose
   * signal is aborted) and is undone; a held or failed one is undone.
   */
  async cancel(id: number, by: string): Promise<JobView> {
    const row = await this.requireJob(id);
    const now = this.now();
    const state = row.state as JobState;
    if (state === 'queued') {
      const message = `cancelled by ${by} before it started`;
      if (!(await this.repository.settle(id, ['queued'], 'rolled_back', { error: message }, { step: null, kind: 'state', message }, now))) return this.cancel(id, by);
    } else if (state === 'running') {
      await this.repository.updateJobIn(id, ['running'], { cancel_requested: 1, run_after: 0, updated_at: now });
      await this.repository.addEvent(id, now, row.current_step, 'state', `cancel requested by ${by}; undoing after the current step`);
      void this.worker.abort(id, new JobCancelled(by));
    } else if (state === 'held' || state === 'failed') {
      const undo = { state: 'rolling_back', attempts: 0, run_after: 0, retrying_since: null, cancel_requested: 1 } as const;
      await this.repository.transition(id, [state], undo, { step: null, kind: 'state', message: `cancelled by ${by}; undoing` }, now);
    } else if (state !== 'rolling_back') {
      throw new ConflictError(`job ${id} has already ${state === 'succeeded' ? 'succeeded' : state === 'abandoned' ? 'been abandoned' : 'been rolled back'}; there is nothing to cancel`, { job: id });
    }
    this.changed(id);
    this.worker.kick();
    return this.view(await this.requireJob(id));
  }

  /**
   * Gives a job up where it stands, without running any undo: for a job whose undo needs a node
   * that is gone for good. The caller takes responsibility for the state the job left behind (a
   * forced dedistribution does). A step in flight is asked to stop and given `graceMs` to do so.
   */
  async abandon(id: number, by: string, reason: string, graceMs = 60_000): Promise<JobView> {
    const row = await this.requireJob(id);
    const from: JobState[] = ['queued', 'running', 'rolling_back', 'held', 'failed'];
    if (!from.includes(row.state as JobState)) throw new ConflictError(`job ${id} is ${row.state}; only a job that has not ended can be abandoned`, { job: id });
    const message = `abandoned by ${by}: ${reason}; nothing was undone`;
    const abandoned = { error: message, error_kind: 'conflict', run_after: 0, retrying_since: null };
    if (!(await this.repository.settle(id, from, 'abandoned', abandoned, { step: row.current_step, kind: 'state', message }, this.now()))) return this.abandon(id, by, reason, graceMs);
    const inFlight = this.worker.abort(id, new JobCancelled(by));
    if (inFlight) await Promise.race([inFlight, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    this.changed(id);
    this.worker.kick();
    return this.view(await this.requireJob(id));
  }

  /** Retries a job that stopped for an admin: a held job runs its failed step again, a failed one resumes its undo. */
  async retry(id: number, by: string): Promise<JobView> {
    const row = await this.requireJob(id);
    const now = this.now();
    const reset = { attempts: 0, run_after: 0, retrying_since: null };
    if (row.state === 'held') {
      await this.repository.transition(id, ['held'], { ...reset, state: 'running', error: null, error_kind: null, cancel_requested: 0 }, { step: row.current_step, kind: 'state', message: `retried by ${by}` }, now);
    } else if (row.state === 'failed') {
      await this.repository.transition(id, ['failed'], { ...reset, state: 'rolling_back' }, { step: row.current_step, kind: 'state', message: `retried by ${by}; resuming the undo` }, now);
    } else {
      throw new ConflictError(`job ${id} is ${row.state}; only a held or failed job can be retried`, { job: id });
    }
    this.changed(id);
    this.worker.kick();
    return this.view(await this.requireJob(id));
  }

  private now(): number {
    return nowMs(this.clock);
  }

  private view(row: JobRow): JobView {
    return toJobView(row, this.clock);
  }

  private async requireJob(id: number): Promise<JobRow> {
    const row = await this.repository.job(id);
    if (!row) throw new NotFoundError('job', String(id));
    return row;
  }

  private changed(id: number): void {
    this.changes.emit(`job:${id}`);
  }

  private nextChange(id: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.changes.off(`job:${id}`, done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.changes.on(`job:${id}`, done);
    });
  }
}
