/**
 * When a failing step is tried again, and after how long. Kept pure so the rules can be read
 * and tested without running a job.
 */
import { FleetError } from '../core/errors.ts';

export interface RetryPolicy {
  /** tries of a step failing with an ordinary error before the job gives up */
  maxAttempts: number;
  /** first back-off; doubles with each attempt */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** how long a step may keep waiting for an unavailable node before the job gives up */
  nodeUnavailableMaxAgeMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  backoffBaseMs: 1000,
  backoffMaxMs: 60_000,
  nodeUnavailableMaxAgeMs: 6 * 60 * 60 * 1000,
};

/**
 * - node_unavailable: the node will likely come back; wait for it (up to a max age).
 * - final: the request itself is refused (validation, conflict, …); trying again changes nothing.
 * - transient: anything else (an I/O error, a bug that may depend on timing); a few more tries.
 */
export type FailureClass = 'node_unavailable' | 'final' | 'transient';

export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof FleetError) {
    if (error.kind === 'node_unavailable') return 'node_unavailable';
    if (error.kind === 'internal') return 'transient';
    return 'final';
  }
  return 'transient';
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: string };

/**
 * @param attempts how many times the step has run in this series, the failed run included
 * @param failingSinceMs when the first failure of the series happened
 */
export function decideRetry(failure: FailureClass, attempts: number, failingSinceMs: number, nowMs: number, policy: RetryPolicy): RetryDecision {
  const delayMs = Math.min(policy.backoffBaseMs * 2 ** Math.max(0, attempts - 1), policy.backoffMaxMs);
  switch (failure) {
    case 'final':
      return { retry: false, reason: 'the error is final' };
    case 'node_unavailable':
      if (nowMs - failingSinceMs >= policy.nodeUnavailableMaxAgeMs) {
        return { retry: false, reason: `the node stayed unavailable for more than ${Math.round(policy.nodeUnavailableMaxAgeMs / 1000)} s` };
      }
      return { retry: true, delayMs };
    case 'transient':
      if (attempts >= policy.maxAttempts) return { retry: false, reason: `it failed ${attempts} times` };
      return { retry: true, delayMs };
  }
}
