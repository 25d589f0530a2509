import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFailure, decideRetry, type RetryPolicy } from './retry-policy.ts';
import { ConflictError, InternalError, NodeUnavailableError, ValidationError } from '../core/errors.ts';

const policy: RetryPolicy = { maxAttempts: 3, backoffBaseMs: 100, backoffMaxMs: 350, nodeUnavailableMaxAgeMs: 10_000 };

test('an unavailable node is worth waiting for, a refused request is not, anything else gets a few tries', () => {
  assert.equal(classifyFailure(new NodeUnavailableError('mail1', 'connection refused')), 'node_unavailable');
  assert.equal(classifyFailure(new ValidationError('user', 'bad')), 'final');
  assert.equal(classifyFailure(new ConflictError('busy')), 'final');
  assert.equal(classifyFailure(new InternalError('boom')), 'transient');
  assert.equal(classifyFailure(new Error('EIO')), 'transient');
});

test('back-off doubles up to its cap; ordinary failures stop after maxAttempts, node waits after the max age', () => {
  assert.deepEqual(decideRetry('transient', 1, 0, 0, policy), { retry: true, delayMs: 100 });
  assert.deepEqual(decideRetry('transient', 2, 0, 0, policy), { retry: true, delayMs: 200 });
  assert.equal(decideRetry('transient', 3, 0, 0, policy).retry, false);
  assert.deepEqual(decideRetry('node_unavailable', 10, 0, 9_999, policy), { retry: true, delayMs: 350 });
  assert.equal(decideRetry('node_unavailable', 10, 0, 10_000, policy).retry, false);
  assert.equal(decideRetry('final', 1, 0, 0, policy).retry, false);
});
