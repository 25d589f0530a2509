/**
 * The engine's behaviour against a real store. The same suite runs on SQLite and PostgreSQL
 * (job-engine.test.ts), because the journal's queries are written once for both.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { OpenedStore } from '../../src/store/database.ts';
import { JobEngine, defineJob, type JobEngineOptions, type JobView } from '../../src/jobs/index.ts';
import { ConflictError, NodeUnavailableError, ValidationError } from '../../src/core/errors.ts';

export interface ScratchStore {
  store: OpenedStore;
  dispose(): Promise<void>;
}

const FAST: JobEngineOptions = { pollIntervalMs: 50, backoffBaseMs: 20, backoffMaxMs: 80, log: () => undefined };

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function journalSuite(name: string, openScratch: () => Promise<ScratchStore | null>): void {
  describe(`job engine on ${name}`, () => {
    let scratch: ScratchStore | null = null;
    const engines: JobEngine[] = [];

    before(async () => {
      scratch = await openScratch();
    });
    after(async () => {
      for (const engine of engines) await engine.stop();
      await scratch?.dispose();
    });

    /** A fresh engine on the shared store; job types are unique per test so tests do not meet. */
    function engine(options: JobEngineOptions = {}): JobEngine {
      const created = new JobEngine(scratch!.store.db, undefined, { ...FAST, ...options });
      engines.push(created);
      return created;
    }

    test('a three-step job runs its steps in order, each seeing the earlier ones\' output', async (t) => {
      if (!scratch) return t.skip('store not available');
      const jobs = engine();
      const seen: string[] = [];
      jobs.register(
        defineJob<{ account: string; planned?: string; copied?: number }>({
          type: 'test.three-steps',
          onFailure: 'undo',
          steps: [
            { name: 'plan', run: async (_ctx, job) => ({ planned: `plan for ${job.data.account}` }) },
            {
              name: 'copy',
              run: async (ctx, job) => {
                seen.push(job.data.planned!);
                for (let i = 1; i <= 3; i++) await ctx.progress(`copied ${i}/3 mailboxes`);
                return { copied: 3 };
              },
            },
            { name: 'verify', run: async (_ctx, job) => void seen.push(`verified ${job.data.copied}`) },
          ],
        }),
      );
      await jobs.start();
      const queued = await jobs.enqueue({ type: 'test.three-steps', key: 'account:alice', data: { account: 'alice' }, createdBy: 'admin' });
      assert.equal(queued.state, 'queued');
      const finished = await jobs.waitFor(queued.id, 5000);
      assert.equal(finished.state, 'succeeded');
      assert.deepEqual(finished.data, { account: 'alice', planned: 'plan for alice', copied: 3 });
      assert.deepEqual(seen, ['plan for alice', 'verified 3']);
      const detail = await jobs.get(queued.id);
      assert.deepEqual(detail.steps.map((s) => [s.name, s.state]), [['plan', 'done'], ['copy', 'done'], ['verify', 'done']]);
      assert.deepEqual(detail.steps[1]!.output, { copied: 3 });
      assert.deepEqual(detail.events.filter((e) => e.kind === 'progress').map((e) => e.message), ['copied 1/3 mailboxes', 'copied 2/3 mailboxes', 'copied 3/3 mailboxes']);
      const after = await jobs.events(queued.id, detail.events.at(-2)!.id);
      assert.deepEqual(after.events.map((e) => e.message), ['succeeded'], 'events after N are the newer ones only');
      assert.equal((await jobs.list({ key: 'account:alice' }))[0]!.id, queued.id);
    });

    test('a failing third step undoes the first two in reverse order and the job ends rolled back', async (t) => {
      if (!scratch) return t.skip('store not available');
      const jobs = engine();
      const calls: string[] = [];
      const step = (name: string) => ({
        name,
        run: async () => void calls.push(`run ${name}`),
        undo: async () => void calls.push(`undo ${name}`),
      });
      jobs.register({
        type: 'test.fails-third',
        onFailure: 'undo',
        steps: [step('first'), step('second'), { name: 'third', run: async () => Promise.reject(new ValidationError('mailbox', 'refused by the child')) }],
      });
      await jobs.start();
      const job = await jobs.enqueue({ type: 'test.fails-third', key: 'account:bob' });
      const finished = await jobs.waitFor(job.id);
      assert.equal(finished.state, 'rolled_back');
      assert.match(finished.error!, /step third failed: mailbox: refused by the child/);
      assert.equal(finished.errorKind, 'validation');
      assert.deepEqual(calls, ['run first', 'run second', 'undo second', 'undo first'], 'a final error is not retried');
      const detail = await jobs.get(job.id);
      assert.deepEqual(detail.steps.map((s) => s.state), ['undone', 'undone', 'undone']);
    });

    test('the failed step\'s own undo runs first, since it may have been half done', async (t) => {
      if (!scratch) return t.skip('store not available');
      const jobs = engine();
      const calls: string[] = [];
      jobs.register({
        type: 'test.half-done',
        onFailure: 'undo',
        steps: [
          { name: 'prepare', run: async () => void calls.push('run prepare'), undo: async () => void calls.push('undo prepare') },
          { name: 'route', run: async () => { calls.push('run route (half)'); throw new ValidationError('dns', 'refused'); }, undo: async () => void calls.push('undo route') },
          { name: 'clean', run: async () => void calls.push('run clean'), undo: async () => void calls.push('undo clean') },
        ],
      });
      await jobs.start();
      const job = await jobs.enqueue({ type: 'test.half-done', key: 'account:half' });
      assert.equal((await jobs.waitFor(job.id)).state, 'rolled_back');
      assert.deepEqual(calls, ['run prepare', 'run route (half)', 'undo route', 'undo prepare']);
      assert.deepEqual((await jobs.get(job.id)).steps.map((s) => s.state), ['undone', 'undone', 'skipped']);
    });

    test('jobs of one key run one at a time in order; other keys run alongside; ifBusy refuse names the running job', async (t) => {
      if (!scratch) return t.skip('store not available');
      const jobs = engine({ concurrency: 4 });
      const gates = new Map<string, { promise: Promise<void>; resolve(): void }>();
      const started: string[] = [];
      jobs.register(
        defineJob<{ label: string }>({
          type: 'test.gated',
          onFailure: 'undo',
          steps: [
            {
              name: 'wait-for-gate',
              run: async (_ctx, job) => {
                started.push(job.data.label);
                const gate = deferred();
                gates.set(job.data.label, gate);
                await gate.promise;
              },
            },
          ],
        }),
      );
      await jobs.start();
      const first = await jobs.enqueue({ type: 'test.gated', key: 'account:carol', data: { label: 'carol-1' } });
      const second = await jobs.enqueue({ type: 'test.gated', key: 'account:carol', data: { label: 'carol-2' } });
      const other = await jobs.enqueue({ type: 'test.gated', key: 'account:dave', data: { label: 'dave-1' } });
      await until(() => gates.has('carol-1') && gates.has('dave-1'), 'carol-1 and dave-1 run');
      await new Promise((r) => setTimeout(r, 150));
      assert.deepEqual([...started].sort(), ['carol-1', 'dave-1'], 'the second carol job waits behind the first');
      assert.equal((await jobs.get(second.id)).state, 'queued');
      assert.match((await jobs.get(second.id)).events[0]!.message, new RegExp(`queued behind job ${first.id}`));

      await assert.rejects(
        jobs.enqueue({ type: 'test.gated', key: 'account:carol', data: { label: 'carol-3' }, ifBusy: 'refuse' }),
        (error: unknown) => error instanceof ConflictError && error.message.includes(`job ${first.id}`) && error.message.includes('account:carol') && error.details.job === first.id,
      );

      gates.get('carol-1')!.resolve();
      assert.equal((await jobs.waitFor(first.id)).state, 'succeeded');
      await until(() => gates.has('carol-2'), 'carol-2 runs after carol-1');
      gates.get('carol-2')!.resolve();
      gates.get('dave-1')!.resolve();
      assert.equal((await jobs.waitFor(second.id)).state, 'succeeded');
      assert.equal((await jobs.waitFor(other.id)).state, 'succeeded');
      assert.deepEqual(started, ['carol-1', 'dave-1', 'carol-2']);
      assert.equal((await jobs.list({ key: 'account:carol' })).length, 2, 'the refused job was never written');
    });

    test('no more jobs run at once than the configured concurrency, whatever their keys', async (t) => {
      if (!scratch) return t.skip('store not available');
      const jobs = engine({ concurrency: 2 });
      const gates = new Map<string, { promise: Promise<void>; resolve(): void }>();
      jobs.register(
        defineJob<{ label: string }>({
          type: 'test.concurrency',
          onFailure: 'undo',
          steps: [{ name: 'hold-a-slot', run: async (_ctx, job) => { const gate = deferred(); gates.set(job.data.label, gate); await gate.promise; } }],
        }),
      );
      await jobs.start();
      const queued = await Promise.all(['m', 'n', 'o'].map((label) => jobs.enqueue({ type: 'test.concurrency', key: `account:${label}`, data: { label } })));
      await until(() => gates.size === 2, 'two jobs run');
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(gates.size, 2, 'the third waits for a free slot');
      const firstTwo = [...gates.keys()];
      for (const gate of gates.values()) gate.resolve();
      await until(() => gates.size === 3, 'the third runs once a slot is free');
      for (const [label, gate] of gates) if (!firstTwo.includes(label)) gate.resolve();
      for (const job of queued) assert.equal((await jobs.waitFor(job.id)).state, 'succeeded');
    });

    test('an unavailable node is waited for with back-off, then the step succeeds', async (t) => {
      if (!scratch) return t.skip('store not available');
      const jobs = engine({ backoffBaseMs: 40, backoffMaxMs: 200 });
      const attempts: number[] = [];
      jobs.register({
        type: 'test.node-returns',
        onFailure: 'undo',
        maxAttempts: 1,
        steps: [
          {
            name: 'copy-mailboxes',
            run: async (ctx) => {
              attempts.push(Date.now());
              // More failures than maxAttempts: node waits are bounded by age, not by count.
              if (attempts.length <= 3) throw new NodeUnavailableError('mail1', 'connection refused');
              return { attemptSeen: ctx.attempt };
            },
          },
        ],
      });
      await jobs.start();
      const job = await jobs.enqueue({ type: 'test.node-returns', key: 'account:erin' });
      const finished = await jobs.waitFor(job.id);
      assert.equal(finished.state, 'succeeded');
      assert.equal(finished.data.attemptSeen, 4);
      const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
      assert.ok(gaps[0]! >= 35 && gaps[1]! >= 75 && gaps[2]! >= 155, `back-off doubles: ${gaps.join(', ')} ms`);
      const errors = (await jobs.get(job.id)).events.filter((e) => e.kind === 'error');
      assert.equal(errors.length, 3);
      assert.match(errors[0]!.message, /node 'mail1' is unavailable.*trying again/);
      assert.equal(finished.error, null, 'a success clears the error of the waits');
    });

    test('the journal\'s times and the retry schedule come from the injected clock', async (t) => {
      if (!scratch) return t.skip('store not available');
      const start = Date.parse('2031-05-04T03:02:01.000Z');
      let now = start;
      const jobs = engine({ backoffBaseMs: 20, clock: { now: () => new Date(now) } });
      let runs = 0;
      jobs.register({
        type: 'test.clocked',
        onFailure: 'undo',
        steps: [
          {
            name: 'reach-node',
            run: async () => {
              runs += 1;
              if (runs === 1) throw new NodeUnavailableError('mail1', 'connection refused');
            },
          },
        ],
      });
      await jobs.start();
      const job = await jobs.enqueue({ type: 'test.clocked', key: 'account:clock' });
      assert.equal(job.createdAt, '2031-05-04T03:02:01.000Z');
      await until(async () => (await jobs.get(job.id)).retryAt !== null, 'the failed step is scheduled again');
      assert.equal((await jobs.get(job.id)).retryAt, '2031-05-04T03:02:01.020Z', 'the back-off is counted from the clock');
      // Real time passes, the clock does not: the retry is not due.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(runs, 1);
      now = start + 5000;
      const finished = await jobs.waitFor(job.id);
      assert.equal(finished.state, 'succeeded');
      assert.equal(runs, 2);
      assert.equal(finished.finishedAt, '2031-05-04T03:02:06.000Z');
      assert.ok((await jobs.get(job.id)).events.every((event) => event.at.startsWith('2031-05-04T03:02:0')), 'every event is stamped by the clock');
    });

    test('abandon gives up a job waiting for a node that is gone, runs no undo, and frees its key', async (t) => {
      if (!scratch) return t.skip('store not available');
      const jobs = engine({ backoffBaseMs: 20, backoffMaxMs: 40 });
      const undone: string[] = [];
      let copyAttempts = 0;
      jobs.register({
        type: 'test.abandon',
        onFailure: 'undo',
        steps: [
          { name: 'route', run: async () => ({ routed: true }), undo: async () => void undone.push('route') },
          {
            name: 'copy',
            run: async () => {
              copyAttempts++;
              throw new NodeUnavailableError('mail1', 'connection refused');
            },
            undo: async () => void undone.push('copy'),
          },
          { name: 'clean', run: async () => undefined },
        ],
      });
      jobs.register({ type: 'test.after-abandon', onFailure: 'undo', steps: [{ name: 'only', run: async () => ({ ran: true }) }] });
      await jobs.start();
      const job = await jobs.enqueue({ type: 'test.abandon', key: 'account:gus' });
      await until(() => copyAttempts >= 2, 'the copy step has waited for the node');
      const abandoned = await jobs.abandon(job.id, 'admin', 'node mail1 is gone', 5000);
      assert.equal(abandoned.state, 'abandoned');
      assert.match(abandoned.error!, /abandoned by admin: node mail1 is gone; nothing was undone/);
      const attemptsAtAbandon = copyAttempts;
      const next = await jobs.enqueue({ type: 'test.after-abandon', key: 'account:gus', ifBusy: 'refuse' });
      assert.equal((await jobs.waitFor(next.id)).state, 'succeeded');
      await new Promise((r) => setTimeout(r, 150));
      assert.deepEqual(undone, [], 'no undo ran');
      assert.equal(copyAttempts, attemptsAtAbandon, 'the abandoned step is not tried again');
      const detail = await jobs.get(job.id);
      assert.equal(detail.state, 'abandoned');
      assert.equal(detail.steps.find((s) => s.name === 'clean')!.state, 'skipped');
      await assert.rejects(jobs.abandon(job.id, 'admin', 'again'), (e: unknown) => e instanceof ConflictError && /only a job that has not ended/.test(e.message));
    });

    test('a node that stays away past the max age ends the job; ordinary errors stop after maxAttempts', async (t) => {
      if (!scratch) return t.skip('store not available');
      const jobs = engine({ nodeUnavailableMaxAgeMs: 150, maxAttempts: 2 });
      let flaky = 0;
      jobs.register({ type: 'test.node-gone', onFailure: 'undo', steps: [{ name: 'route', run: async () => Promise.reject(new NodeUnavailableError('mail2', 'timeout')) }] });
      jobs.register({ type: 'test.flaky', onFailure: 'undo', steps: [{ name: 'write', run: async () => { flaky++; throw new Error('EIO'); } }] });
      await jobs.start();
      const gone = await jobs.enqueue({ type: 'test.node-gone', key: 'account:frank' });
      const broken = await jobs.enqueue({ type: 'test.flaky', key: 'account:gina' });
      const goneView = await jobs.waitFor(gone.id);
      assert.equal(goneView.state, 'rolled_back');
      assert.equal(goneView.errorKind, 'node_unavailable');
      assert.match((await jobs.get(gone.id)).events.map((e) => e.message).join('\n'), /stayed unavailable for more than/);
      assert.equal((await jobs.waitFor(broken.id)).state, 'rolled_back');
      assert.equal(flaky, 2);
    });

    test('onFailure hold stops for an admin; retry runs the failed step again and the job goes on', async (t) => {
      if (!scratch) return t.skip('store not available');
      const jobs = engine();
      let childReady = false;
      const undone: string[] = [];
      jobs.register({
        type: 'test.hold',
        onFailure: 'hold',
        steps: [
          { name: 'prepare', run: async () => undefined, undo: async () => void undone.push('prepare') },
          { name: 'cut-over', run: async () => { if (!childReady) throw new ValidationError('child', 'not prepared'); } },
        ],
      });
      await jobs.start();
      const held = await jobs.waitFor((await jobs.enqueue({ type: 'test.hold', key: 'account:hank' })).id);
      assert.equal(held.state, 'held');
      assert.match(held.error!, /step cut-over failed: child: not prepared/);
      const queuedBehind = await jobs.enqueue({ type: 'test.hold', key: 'account:hank' });
      await new Promise((r) => setTimeout(r, 150));
      assert.equal((await jobs.get(queuedBehind.id)).state, 'queued', 'a held job keeps its key locked');
      await assert.rejects(jobs.retry(queuedBehind.id, 'admin'), ConflictError);

      childReady = true;
      await jobs.retry(held.id, 'admin');
      assert.equal((await jobs.waitFor(held.id)).state, 'succeeded');
      assert.equal((await jobs.waitFor(queuedBehind.id)).state, 'succeeded', 'the next job of the key runs once the held one is over');

      childReady = false;
      const second = await jobs.waitFor((await jobs.enqueue({ type: 'test.hold', key: 'account:hank' })).id);
      assert.equal(second.state, 'held');
      await jobs.cancel(second.id, 'admin');
      const cancelled = await jobs.waitFor(second.id);
      assert.equal(cancelled.state, 'rolled_back');
      assert.deepEqual(undone, ['prepare']);
      await assert.rejects(jobs.cancel(second.id, 'admin'), /nothing to cancel/);
    });

    test('cancel aborts the running step\'s signal and undoes; a queued job is cancelled before it starts', async (t) => {
      if (!scratch) return t.skip('store not available');
      const jobs = engine();
      const calls: string[] = [];
      let inCopy = false;
      jobs.register({
        type: 'test.cancel',
        onFailure: 'undo',
        steps: [
          { name: 'prepare', run: async () => void calls.push('run prepare'), undo: async () => void calls.push('undo prepare') },
          {
            name: 'copy',
            run: async (ctx) => {
              inCopy = true;
              await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('copy interrupted'))));
            },
            undo: async () => void calls.push('undo copy'),
          },
        ],
      });
      await jobs.start();
      const running = await jobs.enqueue({ type: 'test.cancel', key: 'account:ivy' });
      const queued = await jobs.enqueue({ type: 'test.cancel', key: 'account:ivy' });
      await until(() => inCopy, 'the copy step runs');
      const cancelledQueued = await jobs.cancel(queued.id, 'admin');
      assert.equal(cancelledQueued.state, 'rolled_back');
      assert.deepEqual((await jobs.get(queued.id)).steps.map((s) => s.state), ['skipped', 'skipped']);
      await jobs.cancel(running.id, 'admin');
      const finished = await jobs.waitFor(running.id);
      assert.equal(finished.state, 'rolled_back');
      assert.match(finished.error!, /cancelled by admin/);
      assert.deepEqual(calls, ['run prepare', 'undo copy', 'undo prepare']);
    });

    test('an undo that keeps failing leaves the job failed for an admin, whose retry finishes the undo', async (t) => {
      if (!scratch) return t.skip('store not available');
      const jobs = engine({ maxAttempts: 2 });
      let undoWorks = false;
      jobs.register({
        type: 'test.undo-fails',
        onFailure: 'undo',
        steps: [
          { name: 'prepare', run: async () => undefined, undo: async () => { if (!undoWorks) throw new Error('child refused the delete'); } },
          { name: 'route', run: async () => Promise.reject(new ValidationError('mx', 'refused')) },
        ],
      });
      await jobs.start();
      const failed = await jobs.waitFor((await jobs.enqueue({ type: 'test.undo-fails', key: 'account:jack' })).id);
      assert.equal(failed.state, 'failed');
      assert.match(failed.error!, /undo of step prepare failed: child refused the delete \(the job was rolling back because: step route failed/);
      undoWorks = true;
      await jobs.retry(failed.id, 'admin');
      assert.equal((await jobs.waitFor(failed.id)).state, 'rolled_back');
    });

    test('a job can be queued inside the caller\'s transaction, and is not there when it rolls back', async (t) => {
      if (!scratch) return t.skip('store not available');
      const jobs = engine();
      jobs.register({ type: 'test.in-transaction', onFailure: 'undo', steps: [{ name: 'only', run: async () => undefined }] });
      await jobs.start();
      await assert.rejects(
        scratch.store.db.transaction().execute(async (trx) => {
          await jobs.enqueue({ type: 'test.in-transaction', key: 'account:kim' }, { transaction: trx });
          throw new Error('the change that needed the job failed');
        }),
        /needed the job failed/,
      );
      assert.deepEqual(await jobs.list({ key: 'account:kim' }), []);
      const committed: JobView = await scratch.store.db.transaction().execute((trx) => jobs.enqueue({ type: 'test.in-transaction', key: 'account:kim' }, { transaction: trx }));
      assert.equal((await jobs.waitFor(committed.id)).state, 'succeeded');
    });

    test('at start-up, a job whose type is no longer registered is held instead of lost', async (t) => {
      if (!scratch) return t.skip('store not available');
      const old = engine();
      old.register({ type: 'test.retired', onFailure: 'undo', steps: [{ name: 'only', run: async () => undefined }] });
      // Not started: the job stays queued, as if the parent stopped before running it.
      const job = await old.enqueue({ type: 'test.retired', key: 'account:lee' });
      const upgraded = engine();
      await upgraded.start();
      const view = await upgraded.waitFor(job.id);
      assert.equal(view.state, 'held');
      assert.match(view.error!, /no job type 'test.retired' is registered/);
      assert.throws(() => upgraded.register({ type: 'test.late', onFailure: 'undo', steps: [{ name: 'only', run: async () => undefined }] }), /before the engine starts/);
    });
  });
}
