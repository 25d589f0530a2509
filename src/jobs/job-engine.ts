/**
 * The durable job engine: a small worker loop inside the parent that runs journalled jobs.
 *
 * Every transition is written to the store before the work it announces, so the journal is the
 * only state that matters: a parent killed at any point finds its jobs `running` (it runs the
 * current step again, steps being idempotent) or `rolling_back` (it runs the current undo again)
 * when it starts. One job runs at a time per key; keys run in parallel up to `concurrency`.
 *
 * One parent per store is assumed (the architecture has one parent): at start-up every job left
 * `running` is taken over, whoever claimed it before.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/database.ts';
import { ConflictError, FleetError, NotFoundError, ValidationError, type ErrorKind } from '../core/errors.ts';
import type { Principal } from '../auth/principal.ts';
import { JobRegistry } from './job-registry.ts';
import { JobsRepository, type JobEventRow, type JobRow, type JobStepRow } from './jobs.repository.ts';
import {
  WORKABLE_JOB_STATES,
  isSettled,
  type JobData,
  type JobDefinition,
  type JobDetail,
  type JobEventView,
  type JobSnapshot,
  type JobState,
  type JobStep,
  type JobStepView,
  type JobView,
  type StepContext,
  type StepState,
} from './job.model.ts';
import { DEFAULT_RETRY_POLICY, classifyFailure, decideRetry, type RetryPolicy } from './retry-policy.ts';

export interface JobEngineOptions extends Partial<RetryPolicy> {
  /** jobs of different keys running at once (default 4) */
  concurrency?: number;
  /** how often the worker looks for work it was not told about (default 1000 ms) */
  pollIntervalMs?: number;
  /** how long stop() waits for running steps after aborting them (default 10 s) */
  stopTimeoutMs?: number;
  /** where the engine reports its own trouble (default: stderr) */
  log?: (line: string) => void;
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

const STEPS_TO_UNDO: readonly StepState[] = ['done', 'failed', 'running', 'undoing'];
const EVENT_PAGE = 500;

class EngineStopping extends Error {
  constructor() {
    super('the parent is stopping; the step runs again when it starts');
  }
}
class JobCancelled extends Error {
  constructor(readonly by: string) {
    super(`cancelled by ${by}`);
  }
}

interface RunningJob {
  abort: AbortController;
  done: Promise<void>;
}

type Progress = 'continue' | 'yield';

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function kindOf(error: unknown): ErrorKind {
  return error instanceof FleetError ? error.kind : 'internal';
}

function parseData(text: string | null): JobData | null {
  return text === null ? null : (JSON.parse(text) as JobData);
}

export function toJobView(row: JobRow): JobView {
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
    retryAt: row.run_after > Date.now() ? iso(row.run_after) : null,
    createdBy: row.created_by,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    finishedAt: iso(row.finished_at),
  };
}

function toStepView(row: JobStepRow): JobStepView {
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

function toEventView(row: JobEventRow): JobEventView {
  return { id: row.id, at: iso(row.at)!, step: row.step, kind: row.kind as JobEventView['kind'], message: row.message };
}

export class JobEngine {
  readonly registry: JobRegistry;
  /** Differs on every start, so a job claimed before the last start is known to have been interrupted. */
  private instanceId = randomUUID();
  private readonly repository: JobsRepository;
  private readonly retryPolicy: RetryPolicy;
  private readonly concurrency: number;
  private readonly pollIntervalMs: number;
  private readonly stopTimeoutMs: number;
  private readonly log: (line: string) => void;
  private readonly changes = new EventEmitter();
  private readonly running = new Map<number, RunningJob>();
  private readonly enqueueLocks = new Map<string, Promise<unknown>>();
  private visibility: JobVisibility = (principal) => (principal.role === 'admin' ? 'all' : []);
  private started = false;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private tickAgain = false;

  constructor(db: Store, registry: JobRegistry = new JobRegistry(), options: JobEngineOptions = {}) {
    this.repository = new JobsRepository(db);
    this.registry = registry;
    this.retryPolicy = {
      maxAttempts: options.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
      backoffBaseMs: options.backoffBaseMs ?? DEFAULT_RETRY_POLICY.backoffBaseMs,
      backoffMaxMs: options.backoffMaxMs ?? DEFAULT_RETRY_POLICY.backoffMaxMs,
      nodeUnavailableMaxAgeMs: options.nodeUnavailableMaxAgeMs ?? DEFAULT_RETRY_POLICY.nodeUnavailableMaxAgeMs,
    };
    this.concurrency = options.concurrency ?? 4;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.log = options.log ?? ((line) => process.stderr.write(`jobs: ${line}\n`));
    this.changes.setMaxListeners(0);
  }

  register<D extends JobData>(definition: JobDefinition<D>): void {
    if (this.started) throw new Error(`job type '${definition.type}': register job types before the engine starts, so its start-up check covers them`);
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
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    this.instanceId = randomUUID();
    await this.holdJobsWithoutDefinition();
    this.kick();
  }

  /** Stops taking work, aborts running steps and waits for them; they run again on the next start. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const job of this.running.values()) job.abort.abort(new EngineStopping());
    const all = Promise.all([...this.running.values()].map((job) => job.done));
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timeout = setTimeout(resolve, this.stopTimeoutMs)))]);
    clearTimeout(timeout);
    await this.ticking;
    this.started = false;
  }

  // ---- callers' side -------------------------------------------------------------------------

  async enqueue(request: EnqueueRequest, options: EnqueueOptions = {}): Promise<JobView> {
    const definition = this.registry.get(request.type);
    if (!definition) throw new ValidationError('type', `no job type '${request.type}' is registered (known: ${this.registry.types().join(', ') || 'none'})`);
    if (!request.key || request.key.length > 200) throw new ValidationError('key', 'must be 1 to 200 characters');
    const data = request.data ?? {};
    if (typeof data !== 'object' || Array.isArray(data)) throw new ValidationError('data', 'must be a JSON object');
    // The job, its steps and its first event are written together: a crash never leaves a job without steps.
    const inTransaction = <T>(work: (repository: JobsRepository) => Promise<T>): Promise<T> =>
      options.transaction ? work(new JobsRepository(options.transaction)) : this.repository.transaction(work);
    // The check for a busy key and the insert must not interleave with another enqueue of the key.
    const view = await this.withKeyLock(request.key, () => inTransaction(async (repository) => {
      const blocking = await repository.firstActiveForKey(request.key);
      if (blocking && request.ifBusy === 'refuse') {
        throw new ConflictError(
          `${request.key} is busy with job ${blocking.id} (${blocking.type}, ${blocking.state}${blocking.current_step ? ` at step ${blocking.current_step}` : ''}); try again when it has finished or watch it with \`fleetpanel job watch ${blocking.id}\``,
          { job: blocking.id },
        );
      }
      const now = Date.now();
      const id = await repository.insertJob({
        type: definition.type,
        key: request.key,
        data: JSON.stringify(data),
        stepNames: definition.steps.map((step) => step.name),
        createdBy: request.createdBy ?? null,
        now,
      });
      await repository.addEvent(id, now, null, 'state', blocking ? `queued behind job ${blocking.id} (${blocking.type}) on ${request.key}` : 'queued');
      return toJobView((await repository.job(id))!);
    }));
    this.kick();
    return view;
  }

  async get(id: number): Promise<JobDetail> {
    const row = await this.requireJob(id);
    const [steps, events] = await Promise.all([this.repository.steps(id), this.repository.events(id, 0, EVENT_PAGE)]);
    return { ...toJobView(row), steps: steps.map(toStepView), events: events.map(toEventView) };
  }

  async list(filter: JobListFilter = {}, visibleKeys: readonly string[] | 'all' = 'all'): Promise<JobView[]> {
    const rows = await this.repository.list({
      key: filter.key,
      state: filter.state,
      keys: visibleKeys === 'all' ? undefined : visibleKeys,
      limit: Math.min(Math.max(filter.limit ?? 100, 1), 1000),
    });
    return rows.map(toJobView);
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
    return { job: toJobView(row), events: events.map(toEventView) };
  }

  /** Resolves when the job has succeeded, rolled back, or stopped for an admin (held, failed). */
  async waitFor(id: number, timeoutMs = 60_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = await this.requireJob(id);
      if (isSettled(row.state as JobState)) return toJobView(row);
      const left = deadline - Date.now();
      if (left <= 0) throw new FleetError('internal', `job ${id} is still ${row.state} after ${timeoutMs} ms`, { job: id });
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
    const now = Date.now();
    const state = row.state as JobState;
    if (state === 'queued') {
      const changed = await this.repository.transaction(async (repository) => {
        if (!(await repository.updateJobIn(id, ['queued'], { state: 'rolled_back', error: `cancelled by ${by} before it started`, updated_at: now, finished_at: now }))) return false;
        await repository.updateStepsIn(id, ['pending'], { state: 'skipped' });
        await repository.addEvent(id, now, null, 'state', `cancelled by ${by} before it started`);
        return true;
      });
      if (!changed) return this.cancel(id, by);
    } else if (state === 'running') {
      await this.repository.updateJobIn(id, ['running'], { cancel_requested: 1, run_after: 0, updated_at: now });
      await this.repository.addEvent(id, now, row.current_step, 'state', `cancel requested by ${by}; undoing after the current step`);
      this.running.get(id)?.abort.abort(new JobCancelled(by));
    } else if (state === 'held' || state === 'failed') {
      const changed = await this.repository.updateJobIn(id, [state], { state: 'rolling_back', attempts: 0, run_after: 0, retrying_since: null, cancel_requested: 1, updated_at: now });
      if (changed) await this.repository.addEvent(id, now, null, 'state', `cancelled by ${by}; undoing`);
    } else if (state !== 'rolling_back') {
      throw new ConflictError(`job ${id} has already ${state === 'succeeded' ? 'succeeded' : state === 'abandoned' ? 'been abandoned' : 'been rolled back'}; there is nothing to cancel`, { job: id });
    }
    this.changed(id);
    this.kick();
    return toJobView(await this.requireJob(id));
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
    const now = Date.now();
    const message = `abandoned by ${by}: ${reason}; nothing was undone`;
    const changed = await this.repository.transaction(async (repository) => {
      if (!(await repository.updateJobIn(id, from, { state: 'abandoned', error: message, error_kind: 'conflict', run_after: 0, retrying_since: null, updated_at: now, finished_at: now }))) return false;
      await repository.updateStepsIn(id, ['pending'], { state: 'skipped' });
      await repository.addEvent(id, now, row.current_step, 'state', message);
      return true;
    });
    if (!changed) return this.abandon(id, by, reason, graceMs);
    const inFlight = this.running.get(id);
    if (inFlight) {
      inFlight.abort.abort(new JobCancelled(by));
      await Promise.race([inFlight.done, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    }
    this.changed(id);
    this.kick();
    return toJobView(await this.requireJob(id));
  }

  /** Retries a job that stopped for an admin: a held job runs its failed step again, a failed one resumes its undo. */
  async retry(id: number, by: string): Promise<JobView> {
    const row = await this.requireJob(id);
    const now = Date.now();
    const reset = { attempts: 0, run_after: 0, retrying_since: null, updated_at: now };
    if (row.state === 'held') {
      if (await this.repository.updateJobIn(id, ['held'], { ...reset, state: 'running', error: null, error_kind: null, cancel_requested: 0 })) {
        await this.repository.addEvent(id, now, row.current_step, 'state', `retried by ${by}`);
      }
    } else if (row.state === 'failed') {
      if (await this.repository.updateJobIn(id, ['failed'], { ...reset, state: 'rolling_back' })) {
        await this.repository.addEvent(id, now, row.current_step, 'state', `retried by ${by}; resuming the undo`);
      }
    } else {
      throw new ConflictError(`job ${id} is ${row.state}; only a held or failed job can be retried`, { job: id });
    }
    this.changed(id);
    this.kick();
    return toJobView(await this.requireJob(id));
  }

  // ---- worker side ---------------------------------------------------------------------------

  /** Asks the worker to look for work now. */
  private kick(): void {
    if (!this.started || this.stopping) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = this.tick()
      .catch((error: unknown) => this.log(`worker loop: ${messageOf(error)}`))
      .finally(() => {
        this.ticking = null;
        if (this.tickAgain) {
          this.tickAgain = false;
          this.kick();
        }
      });
  }

  private async tick(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let wakeAt = Date.now() + this.pollIntervalMs;
    try {
      const headOfKey = new Set<string>();
      for (const row of await this.repository.activeJobs()) {
        // Only the oldest active job of a key may move: that is the per-key order.
        if (headOfKey.has(row.key)) continue;
        headOfKey.add(row.key);
        if (!WORKABLE_JOB_STATES.includes(row.state as JobState) || this.running.has(row.id)) continue;
        // Unknown types were held at start-up; one seen now belongs to another engine on the store (tests).
        if (!this.registry.get(row.type)) continue;
        if (row.run_after > Date.now()) {
          wakeAt = Math.min(wakeAt, row.run_after);
          continue;
        }
        if (this.running.size >= this.concurrency || this.stopping) break;
        this.launch(row.id);
      }
    } finally {
      if (!this.stopping) {
        this.timer = setTimeout(() => this.kick(), Math.max(0, wakeAt - Date.now()));
        this.timer.unref();
      }
    }
  }

  private launch(id: number): void {
    const abort = new AbortController();
    const done = this.drive(id, abort.signal)
      .catch((error: unknown) => this.log(`job ${id}: ${messageOf(error)}`))
      .finally(() => {
        this.running.delete(id);
        this.changed(id);
        this.kick();
      });
    this.running.set(id, { abort, done });
  }

  /** Moves one job as far as it can go now. */
  private async drive(id: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      if (this.stopping) return;
      const job = await this.repository.job(id);
      if (!job) return;
      const definition = this.registry.get(job.type);
      if (!definition) return;
      const now = Date.now();
      if (job.state === 'queued') {
        if (await this.repository.updateJobIn(id, ['queued'], { state: 'running', locked_by: this.instanceId, updated_at: now })) {
          await this.repository.addEvent(id, now, null, 'state', 'started');
          this.changed(id);
        }
        continue;
      }
      if (job.locked_by !== this.instanceId) {
        await this.repository.updateJob(id, { locked_by: this.instanceId, updated_at: now });
        await this.repository.addEvent(id, now, job.current_step, 'state', `taken over after a restart of the parent (${job.state})`);
      }
      if (job.run_after > now) return;
      let progress: Progress;
      if (job.state === 'running') progress = await this.runNextStep(job, definition, signal);
      else if (job.state === 'rolling_back') progress = await this.undoNextStep(job, definition, signal);
      else return;
      this.changed(id);
      if (progress === 'yield') return;
    }
  }

  private async runNextStep(job: JobRow, definition: JobDefinition, signal: AbortSignal): Promise<Progress> {
    const now = Date.now();
    if (job.cancel_requested === 1) {
      await this.startRollback(job, job.error ?? 'cancelled', job.error_kind);
      return 'continue';
    }
    const steps = await this.repository.steps(job.id);
    const next = steps.find((step) => step.state !== 'done' && step.state !== 'skipped');
    if (!next) {
      if (await this.repository.updateJobIn(job.id, ['running'], { state: 'succeeded', current_step: null, error: null, error_kind: null, updated_at: now, finished_at: now })) {
        await this.repository.addEvent(job.id, now, null, 'state', 'succeeded');
      }
      return 'yield';
    }
    const step = definition.steps.find((candidate) => candidate.name === next.name);
    if (!step) {
      await this.stopForAdmin(job, 'held', `step '${next.name}' is not part of job type '${job.type}' in this version of the parent`, 'internal');
      return 'yield';
    }
    const resumed = next.state === 'running' && job.locked_by !== this.instanceId;
    const attempt = job.attempts + 1;
    const data = parseData(job.data) ?? {};
    await this.repository.transaction(async (repository) => {
      await repository.updateStep(job.id, next.position, { state: 'running', attempts: next.attempts + 1, started_at: next.started_at ?? now, finished_at: null });
      await repository.updateJob(job.id, { current_step: next.name, attempts: attempt, locked_by: this.instanceId, updated_at: now });
      await repository.addEvent(job.id, now, next.name, 'state', resumed ? `step ${next.name} runs again after a restart` : attempt > 1 ? `step ${next.name} started (attempt ${attempt})` : `step ${next.name} started`);
    });
    this.changed(job.id);
    try {
      const output = await step.run(this.stepContext(job, next.name, attempt, resumed, data, signal), this.snapshot(job, data));
      const patch = output ?? {};
      Object.assign(data, patch);
      const finished = Date.now();
      // The step's result and its `done` mark are one write: a crash leaves either both or neither.
      await this.repository.transaction(async (repository) => {
        await repository.updateStep(job.id, next.position, { state: 'done', finished_at: finished, error: null, output: JSON.stringify(patch) });
        await repository.updateJob(job.id, { data: JSON.stringify(data), attempts: 0, retrying_since: null, error: null, error_kind: null, updated_at: finished });
        await repository.addEvent(job.id, finished, next.name, 'state', `step ${next.name} done`);
      });
      return 'continue';
    } catch (error) {
      return this.stepFailed(job, definition, next, attempt, error, signal, 'run');
    }
  }

  private async undoNextStep(job: JobRow, definition: JobDefinition, signal: AbortSignal): Promise<Progress> {
    const now = Date.now();
    const steps = await this.repository.steps(job.id);
    const next = [...steps].reverse().find((step) => STEPS_TO_UNDO.includes(step.state as StepState));
    if (!next) {
      await this.repository.transaction(async (repository) => {
        await repository.updateStepsIn(job.id, ['pending'], { state: 'skipped' });
        if (await repository.updateJobIn(job.id, ['rolling_back'], { state: 'rolled_back', current_step: null, attempts: 0, updated_at: now, finished_at: now })) {
          await repository.addEvent(job.id, now, null, 'state', `rolled back${job.error ? ` (${job.error})` : ''}`);
        }
      });
      return 'yield';
    }
    const step = definition.steps.find((candidate) => candidate.name === next.name);
    if (!step) {
      await this.stopForAdmin(job, 'failed', `step '${next.name}' is not part of job type '${job.type}' in this version of the parent, so it cannot be undone`, 'internal');
      return 'yield';
    }
    if (!step.undo) {
      await this.repository.transaction(async (repository) => {
        await repository.updateStep(job.id, next.position, { state: 'undone', finished_at: now });
        await repository.addEvent(job.id, now, next.name, 'state', `step ${next.name} has nothing to undo`);
      });
      return 'continue';
    }
    const resumed = next.state === 'undoing' && job.locked_by !== this.instanceId;
    const attempt = job.attempts + 1;
    const data = parseData(job.data) ?? {};
    await this.repository.transaction(async (repository) => {
      await repository.updateStep(job.id, next.position, { state: 'undoing', attempts: next.attempts + 1 });
      await repository.updateJob(job.id, { current_step: next.name, attempts: attempt, locked_by: this.instanceId, updated_at: now });
      await repository.addEvent(job.id, now, next.name, 'state', resumed ? `undo of ${next.name} runs again after a restart` : `undoing step ${next.name}`);
    });
    this.changed(job.id);
    try {
      await step.undo(this.stepContext(job, next.name, attempt, resumed, data, signal), this.snapshot(job, data));
      const finished = Date.now();
      await this.repository.transaction(async (repository) => {
        await repository.updateStep(job.id, next.position, { state: 'undone', finished_at: finished });
        await repository.updateJob(job.id, { data: JSON.stringify(data), attempts: 0, retrying_since: null, updated_at: finished });
        await repository.addEvent(job.id, finished, next.name, 'state', `step ${next.name} undone`);
      });
      return 'continue';
    } catch (error) {
      return this.stepFailed(job, definition, next, attempt, error, signal, 'undo');
    }
  }

  private async stepFailed(job: JobRow, definition: JobDefinition, step: JobStepRow, attempt: number, error: unknown, signal: AbortSignal, phase: 'run' | 'undo'): Promise<Progress> {
    // Interrupted by a stop: leave the journal as it is, the step runs again on the next start.
    if (this.stopping && signal.aborted && signal.reason instanceof EngineStopping) return 'yield';
    const now = Date.now();
    const message = messageOf(error);
    const what = phase === 'run' ? `step ${step.name}` : `undo of ${step.name}`;
    if (phase === 'run' && signal.aborted && signal.reason instanceof JobCancelled) {
      await this.repository.updateStep(job.id, step.position, { state: 'failed', finished_at: now, error: signal.reason.message });
      await this.startRollback(job, signal.reason.message, null);
      return 'continue';
    }
    const failingSince = job.retrying_since ?? now;
    const decision = decideRetry(classifyFailure(error), attempt, failingSince, now, {
      ...this.retryPolicy,
      maxAttempts: definition.maxAttempts ?? this.retryPolicy.maxAttempts,
    });
    if (decision.retry) {
      const retryAt = now + decision.delayMs;
      await this.repository.transaction(async (repository) => {
        await repository.updateStep(job.id, step.position, { state: phase === 'run' ? 'failed' : 'undoing', error: message });
        // While rolling back, the job's error stays the reason for the rollback; the undo's own error is on the step.
        const shown = phase === 'run' ? { error: message, error_kind: kindOf(error) } : {};
        await repository.updateJob(job.id, { ...shown, run_after: retryAt, retrying_since: failingSince, updated_at: now });
        await repository.addEvent(job.id, now, step.name, 'error', `${what} failed (attempt ${attempt}): ${message}; trying again in ${Math.round(decision.delayMs / 100) / 10} s`);
      });
      return 'yield';
    }
    await this.repository.updateStep(job.id, step.position, { state: 'failed', finished_at: now, error: phase === 'run' ? message : `undo: ${message}` });
    await this.repository.addEvent(job.id, now, step.name, 'error', `${what} failed and will not be tried again (${decision.reason}): ${message}`);
    if (phase === 'undo') {
      await this.stopForAdmin(job, 'failed', `undo of step ${step.name} failed: ${message}${job.error ? ` (the job was rolling back because: ${job.error})` : ''}`, kindOf(error));
    } else if (definition.onFailure === 'undo') {
      await this.startRollback(job, `step ${step.name} failed: ${message}`, kindOf(error));
      return 'continue';
    } else {
      await this.stopForAdmin(job, 'held', `step ${step.name} failed: ${message}`, kindOf(error));
    }
    return 'yield';
  }

  private async startRollback(job: JobRow, reason: string, kind: string | null): Promise<void> {
    const now = Date.now();
    if (await this.repository.updateJobIn(job.id, ['running'], { state: 'rolling_back', error: reason, error_kind: kind, attempts: 0, run_after: 0, retrying_since: null, updated_at: now })) {
      await this.repository.addEvent(job.id, now, null, 'state', `rolling back: ${reason}`);
    }
  }

  private async stopForAdmin(job: JobRow, state: 'held' | 'failed', reason: string, kind: ErrorKind): Promise<void> {
    const now = Date.now();
    if (await this.repository.updateJobIn(job.id, ['running', 'rolling_back'], { state, error: reason, error_kind: kind, attempts: 0, run_after: 0, retrying_since: null, updated_at: now })) {
      await this.repository.addEvent(
        job.id,
        now,
        null,
        'state',
        state === 'held' ? `held for an admin: ${reason} (retry or cancel it)` : `failed: ${reason} (an admin can retry the undo)`,
      );
    }
  }

  private stepContext(job: JobRow, stepName: string, attempt: number, resumed: boolean, data: JobData, signal: AbortSignal): StepContext {
    return {
      stepName,
      attempt,
      resumed,
      signal,
      progress: async (message: string) => {
        await this.repository.addEvent(job.id, Date.now(), stepName, 'progress', message);
        this.changed(job.id);
      },
      checkpoint: async (patch: Partial<JobData>) => {
        Object.assign(data, patch);
        await this.repository.updateJob(job.id, { data: JSON.stringify(data), updated_at: Date.now() });
      },
    };
  }

  private snapshot(job: JobRow, data: JobData): JobSnapshot {
    return { id: job.id, type: job.type, key: job.key, data };
  }

  /** Jobs of a type this parent does not know cannot move; they wait for an admin instead of failing silently. */
  private async holdJobsWithoutDefinition(): Promise<void> {
    for (const row of await this.repository.activeJobs()) {
      if (!WORKABLE_JOB_STATES.includes(row.state as JobState)) continue;
      const definition = this.registry.get(row.type);
      const reason = definition ? this.stepMismatch(definition, await this.repository.steps(row.id)) : `no job type '${row.type}' is registered in this parent`;
      if (!reason) continue;
      const now = Date.now();
      const state: JobState = row.state === 'rolling_back' ? 'failed' : 'held';
      if (await this.repository.updateJobIn(row.id, [row.state as JobState], { state, error: reason, error_kind: 'internal', updated_at: now })) {
        await this.repository.addEvent(row.id, now, null, 'error', `${state} at start-up: ${reason}`);
        this.log(`job ${row.id} ${state}: ${reason}`);
      }
    }
  }

  private stepMismatch(definition: JobDefinition, steps: JobStepRow[]): string | null {
    const journal = steps.map((step) => step.name).join(',');
    const code = definition.steps.map((step: JobStep) => step.name).join(',');
    return journal === code ? null : `its steps (${journal}) differ from job type '${definition.type}' in this parent (${code})`;
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

  private async withKeyLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.enqueueLocks.get(key) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(work);
    this.enqueueLocks.set(key, current);
    try {
      return await current;
    } finally {
      if (this.enqueueLocks.get(key) === current) this.enqueueLocks.delete(key);
    }
  }
}
