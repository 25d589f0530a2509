import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobRegistry, JobDefinitionError } from './job-registry.ts';
import { defineJob, type JobDefinition } from './job.model.ts';

const noop = async (): Promise<void> => undefined;

test('a job type can be registered once, and is found by its type', () => {
  const registry = new JobRegistry();
  registry.register(defineJob({ type: 'mail.distribute', onFailure: 'undo', steps: [{ name: 'plan', run: noop }, { name: 'copy-mailboxes', run: noop, undo: noop }] }));
  assert.equal(registry.get('mail.distribute')?.steps.length, 2);
  assert.deepEqual(registry.types(), ['mail.distribute']);
  assert.throws(() => registry.register({ type: 'mail.distribute', onFailure: 'undo', steps: [{ name: 'plan', run: noop }] }), /registered twice/);
});

test('a step without run, a repeated step name, or no steps are refused at registration', () => {
  const registry = new JobRegistry();
  const withoutRun = { type: 'broken', onFailure: 'undo', steps: [{ name: 'plan' }] } as unknown as JobDefinition;
  assert.throws(() => registry.register(withoutRun), (error: unknown) => error instanceof JobDefinitionError && /step 'plan' has no run handler/.test(error.message));
  assert.throws(() => registry.register({ type: 'twice', onFailure: 'undo', steps: [{ name: 'a', run: noop }, { name: 'a', run: noop }] }), /appears twice/);
  assert.throws(() => registry.register({ type: 'empty', onFailure: 'undo', steps: [] }), /has no steps/);
  assert.throws(() => registry.register({ type: 'policy', onFailure: 'retry' as 'undo', steps: [{ name: 'a', run: noop }] }), /onFailure/);
  assert.throws(() => registry.register({ type: 'Bad Type', onFailure: 'undo', steps: [{ name: 'a', run: noop }] }), /lower-case/);
  assert.deepEqual(registry.types(), [], 'nothing refused was registered');
});
