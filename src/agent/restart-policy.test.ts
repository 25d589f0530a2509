import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RESTART_POLICY, FailureWindow, restartPause, restartPolicyFromEnv, type RestartPolicySettings } from './restart-policy.ts';

const settings: RestartPolicySettings = { basePauseMs: 1000, maxPauseMs: 10_000, maxFailures: 3, windowMs: 60_000 };

test('the pause doubles with each restart and stops growing at the cap', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((attempt) => restartPause(settings, attempt)),
    [1000, 2000, 4000, 8000, 10_000, 10_000],
  );
  assert.equal(restartPause(settings, 0), 1000);
  assert.equal(restartPause(settings, 500), 10_000);
});

test('failures inside the window exhaust the daemon; older ones stop counting', () => {
  const window = new FailureWindow(settings);
  assert.equal(window.record(0), 1);
  assert.equal(window.record(10_000), 2);
  assert.equal(window.exhausted(10_000), false);
  assert.equal(window.record(20_000), 3);
  assert.equal(window.exhausted(20_000), true);
  // 60 s after the first failure it has left the window.
  assert.equal(window.count(60_000), 2);
  assert.equal(window.exhausted(60_000), false);
});

test('a start by hand clears the failures', () => {
  const window = new FailureWindow(settings);
  for (const at of [0, 1, 2]) window.record(at);
  assert.equal(window.exhausted(3), true);
  window.clear();
  assert.equal(window.count(3), 0);
});

test('settings come from the environment, bad values fall back to the defaults', () => {
  const read = restartPolicyFromEnv({ FLEETPANEL_WATCHDOG_PAUSE_MS: '250', FLEETPANEL_WATCHDOG_MAX_FAILURES: 'many', FLEETPANEL_WATCHDOG_WINDOW_MS: '-5' });
  assert.equal(read.basePauseMs, 250);
  assert.equal(read.maxFailures, DEFAULT_RESTART_POLICY.maxFailures);
  assert.equal(read.windowMs, DEFAULT_RESTART_POLICY.windowMs);
});
