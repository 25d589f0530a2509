import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandError, run } from './exec.ts';

test('a program that exits without reading its input is answered by its exit status, not by an EPIPE that kills the caller', async () => {
  const input = 'x'.repeat(4 * 1024 * 1024);
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => run('true', [], { input })));
  assert.deepEqual(new Set(results.map((r) => r.status)), new Set(['fulfilled']));
  await assert.rejects(run('false', [], { input }), (error: unknown) => error instanceof CommandError && error.exitCode === 1);
});

test('the input reaches a program that reads it', async () => {
  assert.equal((await run('cat', [], { input: 'hello\n' })).stdout, 'hello\n');
});
