/**
 * A parent killed with SIGKILL in the middle of a step (or of an undo) resumes on its next start:
 * the interrupted handler runs again, the job finishes, and every side effect is applied once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { openStore } from '../../src/store/database.ts';
import { JobEngine } from '../../src/jobs/index.ts';
import { crashJob, readLines, type CrashMode } from './crash-job.ts';

const WORKER = join(import.meta.dirname, 'crash-worker.ts');

async function killWhileHanging(databaseFile: string, dir: string, mode: CrashMode): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, databaseFile, dir, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!existsSync(join(dir, 'hanging'))) {
    if (child.exitCode !== null) throw new Error(`crash worker exited early with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('crash worker never reached the hanging step');
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.equal(child.signalCode, 'SIGKILL');
  return Number(output.trim().split('\n')[0]);
}

async function resume(databaseFile: string, dir: string, mode: CrashMode, jobId: number) {
  const store = await openStore(databaseFile);
  const engine = new JobEngine(store.db, undefined, { pollIntervalMs: 50, log: () => undefined });
  try {
    engine.register(crashJob({ ledger: join(dir, 'ledger'), runs: join(dir, 'runs'), hangMarker: join(dir, 'hanging-again') }, mode, false));
    const before = await engine.get(jobId);
    await engine.start();
    const finished = await engine.waitFor(jobId, 15_000);
    return { before, finished, detail: await engine.get(jobId) };
  } finally {
    await engine.stop();
    await store.close();
  }
}

test('SIGKILL during step two: the next start runs step two again and finishes, each effect once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-jobs-crash-'));
  try {
    const databaseFile = join(dir, 'fleetpanel.sqlite');
    const id = await killWhileHanging(databaseFile, dir, 'run');
    const { before, finished, detail } = await resume(databaseFile, dir, 'run', id);

    assert.equal(before.state, 'running', 'the journal shows the job as the killed parent left it');
    assert.deepEqual(before.steps.map((s) => s.state), ['done', 'running', 'pending']);
    assert.equal(finished.state, 'succeeded');
    assert.deepEqual(finished.data, { oneDone: true, twoDone: true, threeDone: true });
    assert.deepEqual(readLines(join(dir, 'ledger')), [`${id}:one:run`, `${id}:two:run`, `${id}:three:run`], 'each side effect applied exactly once');
    assert.deepEqual(readLines(join(dir, 'runs')), [`${id}:one:run`, `${id}:two:run`, `${id}:two:run`, `${id}:three:run`], 'only the interrupted step ran twice');
    assert.ok(detail.events.some((e) => e.message === 'step two runs again after a restart'));
    assert.ok(detail.events.some((e) => /taken over after a restart/.test(e.message)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGKILL during an undo: the next start continues the rollback, each undo once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-jobs-crash-'));
  try {
    const databaseFile = join(dir, 'fleetpanel.sqlite');
    const id = await killWhileHanging(databaseFile, dir, 'undo');
    const { before, finished } = await resume(databaseFile, dir, 'undo', id);

    assert.equal(before.state, 'rolling_back');
    assert.deepEqual(before.steps.map((s) => s.state), ['done', 'undoing', 'undone']);
    assert.equal(finished.state, 'rolled_back');
    assert.match(finished.error!, /step three failed: three: refused on purpose/);
    assert.deepEqual(readLines(join(dir, 'ledger')), [`${id}:one:run`, `${id}:two:run`, `${id}:two:undo`, `${id}:one:undo`], 'undone in reverse order, once each');
    assert.deepEqual(
      readLines(join(dir, 'runs')).filter((line) => line.endsWith(':undo')),
      [`${id}:three:undo`, `${id}:two:undo`, `${id}:two:undo`, `${id}:one:undo`],
      'only the interrupted undo ran twice',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
