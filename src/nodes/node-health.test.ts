import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isServing, servingStatus } from './node.model.ts';

test('every service running: ready; one down, restarting or failed: degraded, naming it', () => {
  assert.deepEqual(servingStatus([{ name: 'dovecot', running: true, state: 'running' }]), { status: 'ready', detail: null });
  assert.deepEqual(
    servingStatus([
      { name: 'dovecot', running: false, state: 'restarting', problem: 'the process (pid 7) is gone' },
      { name: 'postfix', running: true, state: 'running' },
      { name: 'pdns', running: false, state: 'failed' },
    ]),
    { status: 'degraded', detail: 'dovecot restarting: the process (pid 7) is gone; pdns failed' },
  );
  // An agent without a watchdog reports only `running`.
  assert.deepEqual(servingStatus([{ name: 'nginx', running: false }]), { status: 'degraded', detail: 'nginx down' });
  // Nothing to serve (php-fpm without pools) is not down.
  assert.equal(servingStatus([{ name: 'php', running: false, state: 'idle' }]).status, 'ready');
  // A hung daemon still has its PID: the watchdog's state is what counts.
  assert.equal(servingStatus([{ name: 'dovecot', running: true, state: 'restarting' }]).status, 'degraded');
});

test('ready and degraded nodes serve; the others do not', () => {
  assert.deepEqual(['ready', 'degraded', 'offline', 'data_sync', 'disabled'].map(isServing), [true, true, false, false, false]);
});
