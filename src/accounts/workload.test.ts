import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkloadRegistry, type WorkloadService } from './workload.ts';

const fake = (workload: WorkloadService['workload']): WorkloadService => ({
  workload,
  provision: async () => undefined,
  suspend: async () => undefined,
  deprovision: async () => undefined,
});

test('workload services run in the order mail, web, dns whatever order they registered in', () => {
  const registry = new WorkloadRegistry();
  for (const w of ['dns', 'mail', 'web'] as const) registry.register(fake(w));
  assert.deepEqual(registry.registered().map((s) => s.workload), ['mail', 'web', 'dns']);
});

test('a workload has at most one service, and only known workloads register', () => {
  const registry = new WorkloadRegistry();
  registry.register(fake('mail'));
  assert.throws(() => registry.register(fake('mail')), /registered twice/);
  assert.throws(() => registry.register(fake('ftp' as 'mail')), /not a workload/);
});
