import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchByKey } from './batch-by-key.ts';

/** An apply that records each batch, finishes only when the test releases it and answers the batch's number. */
function gatedApply(): { batches: string[][]; release: (error?: Error) => void; applied: BatchByKey<string, number> } {
  const batches: string[][] = [];
  const gates: ((error?: Error) => void)[] = [];
  const applied = new BatchByKey<string, number>(async (_key, requests) => {
    const number = batches.push([...requests]);
    await new Promise<void>((resolve, reject) => gates.push((error) => (error ? reject(error) : resolve())));
    return number;
  });
  const release = (error?: Error) => {
    const gate = gates.shift();
    if (!gate) throw new Error('no batch is waiting');
    gate(error);
  };
  return { batches, release, applied };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('batches by key', () => {
  it('sends the changes that arrive while a batch runs as the next batch, and answers each with its own batch', async () => {
    const { batches, release, applied } = gatedApply();
    const first = applied.run('node1', 'a');
    await tick();
    const waiting = ['b', 'c', 'd'].map((request) => applied.run('node1', request));
    await tick();
    assert.deepEqual(batches, [['a']], 'nothing more starts while the first batch runs');
    release();
    assert.equal(await first, 1);
    await tick();
    assert.deepEqual(batches, [['a'], ['b', 'c', 'd']]);
    let answered = false;
    void Promise.all(waiting).then(() => (answered = true));
    await tick();
    assert.equal(answered, false, 'no change is answered before its batch was applied');
    release();
    assert.deepEqual(await Promise.all(waiting), [2, 2, 2]);
  });

  it('fails every change of a refused batch, and only those', async () => {
    const { batches, release, applied } = gatedApply();
    const first = applied.run('node1', 'a');
    await tick();
    const refused = ['b', 'c'].map((request) => applied.run('node1', request));
    await tick();
    release();
    await first;
    await tick();
    const later = applied.run('node1', 'd');
    release(new Error('nginx rejected its configuration'));
    for (const outcome of refused) await assert.rejects(outcome, /nginx rejected/);
    await tick();
    assert.deepEqual(batches.at(-1), ['d'], 'a change that came after the refused batch goes out on its own');
    release();
    assert.equal(await later, 3);
  });

  it('never puts two changes with the same conflict key in one batch, and keeps keys apart', async () => {
    const { batches, release, applied } = gatedApply();
    const outcomes = [applied.run('node1', 'ann-suspend', 'ann'), applied.run('node1', 'bob', 'bob'), applied.run('node1', 'ann-unsuspend', 'ann'), applied.run('node1', 'carl')];
    const other = applied.run('node2', 'zed');
    await tick();
    assert.deepEqual(batches, [['ann-suspend', 'bob'], ['zed']]);
    release();
    release();
    await tick();
    assert.deepEqual(batches.at(-1), ['ann-unsuspend', 'carl']);
    release();
    assert.deepEqual(await Promise.all(outcomes), [1, 1, 3, 3]);
    assert.equal(await other, 2);
  });
});
