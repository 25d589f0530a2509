import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadWriteLock } from './read-write-lock.ts';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

test('readers share the lock; a writer waits for them and keeps later readers out', async () => {
  const lock = new ReadWriteLock();
  const events: string[] = [];
  const reader = (name: string) =>
    lock.read(async () => {
      events.push(`${name} in`);
      await tick();
      events.push(`${name} out`);
    });
  const first = reader('r1');
  const second = reader('r2');
  const writer = lock.write(async () => {
    events.push('w in');
    await tick();
    events.push('w out');
  });
  const late = reader('r3');
  await Promise.all([first, second, writer, late]);
  assert.deepEqual(events, ['r1 in', 'r2 in', 'r1 out', 'r2 out', 'w in', 'w out', 'r3 in', 'r3 out']);
});

test('a failing holder releases the lock', async () => {
  const lock = new ReadWriteLock();
  await assert.rejects(lock.write(async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await lock.read(async () => 'free'), 'free');
});
