/**
 * The durable job model: a job is an ordered list of named steps, each with a `run` and an
 * optional `undo`. Both must be idempotent, because after a crash the engine simply runs the
 * step that was in progress again; that is the whole of crash recovery.
 */
import type { ErrorKind } from '../core/errors.ts';

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'rolling_back', 'rolled_back', 'held', 'abandoned'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const STEP_STATES = ['pending', 'running', 'done', 'failed', 'undoing', 'undone', 'skipped'] as const;
export type StepState = (typeof STEP_STATES)[number];

/**
 * States that keep a job's key locked. `held` and `failed` lock it too: such a job stopped half
 * way, and another job on the same account must not start from that unknown state.
 */
export const ACTIVE_JOB_STATES: readonly JobState[] = ['queued', 'running', 'rolling_back', 'held', 'failed'];
/** States the engine works on by itself (the others wait for an admin or are over). */
export const WORKABLE_JOB_STATES: readonly JobState[] = ['queued', 'running', 'rolling_back'];
/** States in which a job has stopped moving: over, or waiting for an admin. */
export const SETTLED_JOB_STATES: readonly JobState[] = ['succeeded', 'rolled_back', 'held', 'failed', 'abandoned'];
/**
 * `abandoned`: an admin gave the job up without undoing it, because its undo needs a node that is
 * gone for good (a forced dedistribution takes over from there). Its key is free again.
 */

export type JobData = Record<string, unknown>;

/** What a step is handed about its job. `data` holds the input and all earlier steps' outputs. */
export interface JobSnapshot<D extends JobData = JobData> {
  readonly id: number;
  readonly type: string;
  readonly key: string;
  readonly data: Readonly<D>;
}

/** What the engine offers a running step (or undo). */
export interface StepContext<D extends JobData = JobData> {
  readonly stepName: string;
  /** 1 on the first try, then counts retries, including runs again after a restart */
  readonly attempt: number;
  /** true when the step was already started by a parent that died; the step may be half done */
  readonly resumed: boolean;
  /** aborted when an admin cancels the job or the parent stops; long steps should check it */
  readonly signal: AbortSignal;
  /** A progress line for `fleetpanel job watch`, kept in the journal. */
  progress(message: string): Promise<void>;
  /**
   * Saves part of the step's work in the job's data at once, so that a step interrupted half way
   * (e.g. after 3 of 10 mailboxes) can skip what it already did when it runs again.
   */
  checkpoint(patch: Partial<D>): Promise<void>;
}

export interface JobStep<D extends JobData = JobData> {
  readonly name: string;
  /** Returns the fields to merge into the job's data (the step's output), or nothing. */
  run(ctx: StepContext<D>, job: JobSnapshot<D>): Promise<Partial<D> | void>;
  /**
   * Reverses the step. Also called for the step that failed or was interrupted, which may be
   * half done, so it must cope with partial and absent effects alike.
   */
  undo?(ctx: StepContext<D>, job: JobSnapshot<D>): Promise<void>;
}

export interface JobDefinition<D extends JobData = JobData> {
  readonly type: string;
  readonly steps: readonly JobStep<D>[];
  /** 'undo': roll back at once; 'hold': stop and let an admin retry or cancel */
  readonly onFailure: 'undo' | 'hold';
  /** overrides the engine's attempts for ordinary (not node-unavailable) failures */
  readonly maxAttempts?: number;
}

/** Typed helper: keeps `D` checked across all steps of a definition. */
export function defineJob<D extends JobData>(definition: JobDefinition<D>): JobDefinition<D> {
  return definition;
}

export interface JobView {
  id: number;
  type: string;
  key: string;
  state: JobState;
  data: JobData;
  currentStep: string | null;
  attempts: number;
  error: string | null;
  errorKind: ErrorKind | null;
  cancelRequested: boolean;
  retryAt: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface JobStepView {
  position: number;
  name: string;
  state: StepState;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  output: JobData | null;
}

export interface JobEventView {
  id: number;
  at: string;
  step: string | null;
  kind: 'progress' | 'state' | 'error';
  message: string;
}

export interface JobDetail extends JobView {
  steps: JobStepView[];
  events: JobEventView[];
}

export function isSettled(state: JobState): boolean {
  return SETTLED_JOB_STATES.includes(state);
}
