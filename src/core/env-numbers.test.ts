import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { msFromEnv, wholeNumberFromEnv } from './env-numbers.ts';

describe('numeric settings from the environment', () => {
  it('reads a period, refusing what is not whole milliseconds of at least 100', () => {
    assert.equal(msFromEnv('FP_TEST_PERIOD', 1000, { FP_TEST_PERIOD: '2500' }), 2500);
    assert.equal(msFromEnv('FP_TEST_PERIOD', 1000, {}), 1000);
    assert.equal(msFromEnv('FP_TEST_PERIOD', 1000, { FP_TEST_PERIOD: '' }), 1000, 'empty is unset');
    for (const bad of ['50', '1.5', 'soon', '-200']) {
      assert.throws(() => msFromEnv('FP_TEST_PERIOD', 1000, { FP_TEST_PERIOD: bad }), /FP_TEST_PERIOD: must be a whole number of milliseconds, at least 100 \(got '.*'\)/, bad);
    }
  });

  it('reads a count of at least one, or nothing when unset', () => {
    assert.equal(wholeNumberFromEnv('FP_TEST_COUNT', {}, { FP_TEST_COUNT: '4' }), 4);
    assert.equal(wholeNumberFromEnv('FP_TEST_COUNT', {}, {}), undefined);
    assert.throws(() => wholeNumberFromEnv('FP_TEST_COUNT', {}, { FP_TEST_COUNT: '0' }), /FP_TEST_COUNT: must be a whole number, at least 1 \(got '0'\)/);
    assert.throws(() => wholeNumberFromEnv('FP_TEST_DAYS', { unit: 'days' }, { FP_TEST_DAYS: '0.5' }), /FP_TEST_DAYS: must be a whole number of days, at least 1/);
  });
});
