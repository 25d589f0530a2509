/** The job engine's public surface: define a job type, register it, enqueue, watch. */
export { JobEngine, type EnqueueRequest, type EnqueueOptions, type JobEngineOptions, type JobListFilter, type JobVisibility } from './job-engine.ts';
export { toJobView } from './job-views.ts';
export { systemClock, type Clock } from './clock.ts';
export { JobRegistry, JobDefinitionError } from './job-registry.ts';
export { DEFAULT_RETRY_POLICY, classifyFailure, decideRetry, type RetryPolicy, type FailureClass } from './retry-policy.ts';
export {
  defineJob,
  isSettled,
  JOB_STATES,
  STEP_STATES,
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
