/**
 * The worker: a small loop inside the parent that moves journalled jobs forward, one step (or
 * undo) at a time. Every transition is written to the journal before the work it announces, so a
 * parent killed at any point finds its jobs `running` (it runs the current step again, steps being
 * idempotent) or `rolling_back` (it runs the current undo again) when it starts. One job runs at a
 * time per key; keys run in parallel up to `concurrency`.
 *
 * One parent per store is assumed (the architecture has one parent): at start-up every job left
 * `running` is taken over, whoever claimed it before.
 */
import { randomUUID } from 'node:crypto';
import { kindOf, type ErrorKind } from '../core/errors.ts';
import { nowMs, type Clock } from './clock.ts';
import type { JobRegistry } from './job-registry.ts';
import { parseData } from './job-views.ts';
import type { JobsRepository, JobRow, JobStepRow, StepPhase } from './jobs.repository.ts';
import { WORKABLE_JOB_STATES, type JobData, type JobDefinition, type JobSnapshot, type JobState, type JobStep, type StepContext, type StepState } from './job.model.ts';
import { classifyFailure, decideRetry, type RetryPolicy } from './retry-policy.ts';

export interface WorkerSettings {
  retryPolicy: RetryPolicy;
  concurrency: number;
  pollIntervalMs: number;
  stopTimeoutMs: number;
  log: (line: string) => void;
  clock: Clock;
}

/** The abort reason of a step interrupted because the parent stops: the journal is left as it is. */
class EngineStopping extends Error {
  constructor() {
    super('the parent is stopping; the step runs again when it starts');
  }
}

/** The abort reason of a step whose job an admin cancelled (or abandoned). */
export class JobCancelled extends Error {
  constructor(readonly by: string) {
    super(`cancelled by ${by}`);
  }
}

interface RunningJob {
  abort: AbortController;
  done: Promise<void>;
}

type Progress = 'continue' | 'yield';

const STEPS_TO_UNDO: readonly StepState[] = ['done', 'failed', 'running', 'undoing'];

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class JobWorker {
  /** Differs on every start, so a job claimed before the last start is known to have been interrupted. */
  private instanceId = randomUUID();
  private readonly running = new Map<number, RunningJob>();
  private started = false;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private tickAgain = false;

  constructor(
    private readonly repository: JobsRepository,
    private readonly registry: JobRegistry,
    private readonly settings: WorkerSettings,
    /** told after every change of a job, so waiters wake at once */
    private readonly changed: (id: number) => void,
  ) {}

  get isStarted(): boolean {
    return this.started;
  }

  /** Checks the journal against the registered types, then starts the loop. */
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
    await Promise.race([all, new Promise((resolve) => (timeout = setTimeout(resolve, this.settings.stopTimeoutMs)))]);
    clearTimeout(timeout);
    await this.ticking;
    this.started = false;
  }

  /** Aborts the signal of the job's step in flight, if one is; resolves when that run has ended. */
  abort(id: number, reason: JobCancelled): Promise<void> | undefined {
    const inFlight = this.running.get(id);
    inFlight?.abort.abort(reason);
    return inFlight?.done;
  }

  /** Asks the loop to look for work now. */
  kick(): void {
    if (!this.started || this.stopping) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = this.tick()
      .catch((error: unknown) => this.settings.log(`worker loop: ${messageOf(error)}`))
      .finally(() => {
        this.ticking = null;
        if (this.tickAgain) {
          this.tickAgain = false;
          this.kick();
        }
      });
  }

  private now(): number {
    return nowMs(this.settings.clock);
  }

  private async tick(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let wakeAt = this.now() + this.settings.pollIntervalMs;
    try {
      const headOfKey = new Set<string>();
      for (const row of await this.repository.activeJobs()) {
        // Only the oldest active job of a key may move: that is the per-key order.
        if (headOfKey.has(row.key)) continue;
        headOfKey.add(row.key);
        if (!WORKABLE_JOB_STATES.includes(row.state as JobState) || this.running.has(row.id)) continue;
        // Unknown types were held at start-up; one seen now belongs to another engine on the store (tests).
        if (!this.registry.get(row.type)) continue;
        if (row.run_after > this.now()) {
          wakeAt = Math.min(wakeAt, row.run_after);
          continue;
        }
        if (this.running.size >= this.settings.concurrency || this.stopping) break;
        this.launch(row.id);
      }
    } finally {
      if (!this.stopping) {
        this.timer = setTimeout(() => this.kick(), Math.max(0, wakeAt - this.now()));
        this.timer.unref();
      }
    }
  }

  private launch(id: number): void {
    const abort = new AbortController();
    const done = this.drive(id, abort.signal)
      .catch((error: unknown) => this.settings.log(`job ${id}: ${messageOf(error)}`))
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
      const now = this.now();
      if (job.state === 'queued') {
        if (await this.repository.transition(id, ['queued'], { state: 'running', locked_by: this.instanceId }, { step: null, kind: 'state', message: 'started' }, now)) {
          this.changed(id);
        }
        continue;
      }
      if (job.locked_by !== this.instanceId) {
        await this.repository.claim(id, this.instanceId, { step: job.current_step, kind: 'state', message: `taken over after a restart of the parent (${job.state})` }, now);
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
    const now = this.now();
    if (job.cancel_requested === 1) {
      await this.startRollback(job, job.error ?? 'cancelled', job.error_kind);
      return 'continue';
    }
    const steps = await this.repository.steps(job.id);
    const next = steps.find((step) => step.state !== 'done' && step.state !== 'skipped');
    if (!next) {
      await this.repository.settle(job.id, ['running'], 'succeeded', { current_step: null, error: null, error_kind: null }, { step: null, kind: 'state', message: 'succeeded' }, now);
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
    const started = resumed ? `step ${next.name} runs again after a restart` : attempt > 1 ? `step ${next.name} started (attempt ${attempt})` : `step ${next.name} started`;
    // An admin may have ended the job since it was read: then the step does not run.
    if (!(await this.repository.startStep(next, 'run', attempt, this.instanceId, { step: next.name, kind: 'state', message: started }, now))) return 'yield';
    this.changed(job.id);
    try {
      const output = (await step.run(this.stepContext(job, next.name, attempt, resumed, data, signal), this.snapshot(job, data))) ?? {};
      Object.assign(data, output);
      const recorded = await this.repository.finishStep(next, 'run', { data, output }, { step: next.name, kind: 'state', message: `step ${next.name} done` }, this.now());
      return recorded ? 'continue' : 'yield';
    } catch (error) {
      return this.stepFailed(job, definition, next, attempt, error, signal, 'run');
    }
  }

  private async undoNextStep(job: JobRow, definition: JobDefinition, signal: AbortSignal): Promise<Progress> {
    const now = this.now();
    const steps = await this.repository.steps(job.id);
    const next = [...steps].reverse().find((step) => STEPS_TO_UNDO.includes(step.state as StepState));
    if (!next) {
      const message = `rolled back${job.error ? ` (${job.error})` : ''}`;
      await this.repository.settle(job.id, ['rolling_back'], 'rolled_back', { current_step: null, attempts: 0 }, { step: null, kind: 'state', message }, now);
      return 'yield';
    }
    const step = definition.steps.find((candidate) => candidate.name === next.name);
    if (!step) {
      await this.stopForAdmin(job, 'failed', `step '${next.name}' is not part of job type '${job.type}' in this version of the parent, so it cannot be undone`, 'internal');
      return 'yield';
    }
    if (!step.undo) {
      const recorded = await this.repository.finishStep(next, 'undo', null, { step: next.name, kind: 'state', message: `step ${next.name} has nothing to undo` }, now);
      return recorded ? 'continue' : 'yield';
    }
    const resumed = next.state === 'undoing' && job.locked_by !== this.instanceId;
    const attempt = job.attempts + 1;
    const data = parseData(job.data) ?? {};
    const started = resumed ? `undo of ${next.name} runs again after a restart` : `undoing step ${next.name}`;
    if (!(await this.repository.startStep(next, 'undo', attempt, this.instanceId, { step: next.name, kind: 'state', message: started }, now))) return 'yield';
    this.changed(job.id);
    try {
      await step.undo(this.stepContext(job, next.name, attempt, resumed, data, signal), this.snapshot(job, data));
      const recorded = await this.repository.finishStep(next, 'undo', { data }, { step: next.name, kind: 'state', message: `step ${next.name} undone` }, this.now());
      return recorded ? 'continue' : 'yield';
    } catch (error) {
      return this.stepFailed(job, definition, next, attempt, error, signal, 'undo');
    }
  }

  private async stepFailed(job: JobRow, definition: JobDefinition, step: JobStepRow, attempt: number, error: unknown, signal: AbortSignal, phase: StepPhase): Promise<Progress> {
    // Interrupted by a stop: leave the journal as it is, the step runs again on the next start.
    if (this.stopping && signal.aborted && signal.reason instanceof EngineStopping) return 'yield';
    const now = this.now();
    const message = messageOf(error);
    const what = phase === 'run' ? `step ${step.name}` : `undo of ${step.name}`;
    if (phase === 'run' && signal.aborted && signal.reason instanceof JobCancelled) {
      if (!(await this.repository.failStep(step, phase, signal.reason.message, null, now))) return 'yield';
      await this.startRollback(job, signal.reason.message, null);
      return 'continue';
    }
    const failingSince = job.retrying_since ?? now;
    const decision = decideRetry(classifyFailure(error), attempt, failingSince, now, {
      ...this.settings.retryPolicy,
      maxAttempts: definition.maxAttempts ?? this.settings.retryPolicy.maxAttempts,
    });
    if (decision.retry) {
      const event = `${what} failed (attempt ${attempt}): ${message}; trying again in ${Math.round(decision.delayMs / 100) / 10} s`;
      await this.repository.scheduleRetry(step, phase, { message, kind: kindOf(error) }, { at: now + decision.delayMs, failingSince }, { step: step.name, kind: 'error', message: event }, now);
      return 'yield';
    }
    const gaveUp = `${what} failed and will not be tried again (${decision.reason}): ${message}`;
    if (!(await this.repository.failStep(step, phase, phase === 'run' ? message : `undo: ${message}`, { step: step.name, kind: 'error', message: gaveUp }, now))) return 'yield';
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
    await this.repository.transition(
      job.id,
      ['running'],
      { state: 'rolling_back', error: reason, error_kind: kind, attempts: 0, run_after: 0, retrying_since: null },
      { step: null, kind: 'state', message: `rolling back: ${reason}` },
      this.now(),
    );
  }

  private async stopForAdmin(job: JobRow, state: 'held' | 'failed', reason: string, kind: ErrorKind): Promise<void> {
    const message = state === 'held' ? `held for an admin: ${reason} (retry or cancel it)` : `failed: ${reason} (an admin can retry the undo)`;
    await this.repository.settle(job.id, ['running', 'rolling_back'], state, { error: reason, error_kind: kind, attempts: 0, run_after: 0, retrying_since: null }, { step: null, kind: 'state', message }, this.now());
  }

  private stepContext(job: JobRow, stepName: string, attempt: number, resumed: boolean, data: JobData, signal: AbortSignal): StepContext {
    return {
      stepName,
      attempt,
      resumed,
      signal,
      progress: async (message: string) => {
        await this.repository.addEvent(job.id, this.now(), stepName, 'progress', message);
        this.changed(job.id);
      },
      checkpoint: async (patch: Partial<JobData>) => {
        Object.assign(data, patch);
        await this.repository.updateJob(job.id, { data: JSON.stringify(data), updated_at: this.now() });
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
      const reason = definition ? stepMismatch(definition, await this.repository.steps(row.id)) : `no job type '${row.type}' is registered in this parent`;
      if (!reason) continue;
      const state = row.state === 'rolling_back' ? 'failed' : 'held';
      if (await this.repository.settle(row.id, [row.state as JobState], state, { error: reason, error_kind: 'internal' }, { step: null, kind: 'error', message: `${state} at start-up: ${reason}` }, this.now())) {
        this.settings.log(`job ${row.id} ${state}: ${reason}`);
      }
    }
  }
}

function stepMismatch(definition: JobDefinition, steps: JobStepRow[]): string | null {
  const journal = steps.map((step) => step.name).join(',');
  const code = definition.steps.map((step: JobStep) => step.name).join(',');
  return journal === code ? null : `its steps (${journal}) differ from job type '${definition.type}' in this parent (${code})`;
}
