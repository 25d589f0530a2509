import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runEvery } from './periodic.ts';

describe('periodic passes', () => {
  it('never overlap a slow pass, keep going after a failing one, and stop on close', async () => {
    let active = 0;
    let overlapped = false;
    let passes = 0;
    let stop: () => void = () => undefined;
    runEvery('test pass', 100, async () => {
      active++;
      overlapped ||= active > 1;
      passes++;
      await new Promise((resolve) => setTimeout(resolve, 250));
      active--;
      if (passes === 1) throw new Error('first pass fails');
    }, (s) => (stop = s));
    await new Promise((resolve) => setTimeout(resolve, 1200));
    stop();
    const seen = passes;
    assert.ok(seen >= 2, `a failing pass is followed by more (${seen})`);
    assert.equal(overlapped, false);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.ok(passes <= seen + 1, 'no pass starts after the stop');
  });
});
