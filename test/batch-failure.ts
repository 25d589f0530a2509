import assert from 'node:assert/strict';

/**
 * Starts one change per name at once and asserts that they went out as one batch and that every
 * one of them was reported failed with `reason`: none acknowledged.
 */
export async function expectOneFailedBatch(names: string[], start: (name: string) => Promise<unknown>, batchesSent: () => number, reason: RegExp): Promise<void> {
  const sentBefore = batchesSent();
  const outcomes = await Promise.allSettled(names.map(start));
  assert.equal(batchesSent() - sentBefore, 1, `the ${names.length} changes arrived together and went out as one batch`);
  outcomes.forEach((outcome, index) => {
    assert.equal(outcome.status, 'rejected', `${names[index]} is reported failed, not acknowledged`);
    assert.match(String((outcome as PromiseRejectedResult).reason), reason);
  });
}
