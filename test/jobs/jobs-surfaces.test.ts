/**
 * The API routes and the `fleetpanel job` commands against a real engine on SQLite: who sees
 * which job, admin-only actions, and `job watch` printing progress with the job's exit code.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { openStore, type OpenedStore } from '../../src/store/database.ts';
import { createHttpApp, type HttpApp } from '../../src/transport/http-app.ts';
import type { PrincipalRole } from '../../src/auth/principal.ts';
import { JobEngine, type JobDetail, type JobView } from '../../src/jobs/index.ts';
import { registerJobRoutes } from '../../src/jobs/jobs.routes.ts';
import { ValidationError } from '../../src/core/errors.ts';

const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

let dir: string;
let store: OpenedStore;
let engine: JobEngine;
let app: HttpApp;
let url: string;
let releaseSlowJob: () => void = () => undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fp-jobs-api-'));
  store = await openStore(join(dir, 'fleetpanel.sqlite'));
  engine = new JobEngine(store.db, undefined, { pollIntervalMs: 50, log: () => undefined });
  engine.register({
    type: 'test.watched',
    onFailure: 'undo',
    steps: [
      {
        name: 'copy-mailboxes',
        run: async (ctx, job) => {
          for (let i = 1; i <= 3; i++) {
            await ctx.progress(`copied ${i}/3 mailboxes`);
            await new Promise((r) => setTimeout(r, 30));
          }
          if (job.data.fail) throw new ValidationError('mailbox', 'INBOX did not verify');
        },
      },
    ],
  });
  engine.register({ type: 'test.slow', onFailure: 'undo', steps: [{ name: 'wait', run: () => new Promise<void>((resolve) => (releaseSlowJob = resolve)) }] });
  // Users see the jobs of their own account, the way the accounts domain will wire it.
  engine.setVisibility((principal) => (principal.role === 'admin' ? 'all' : [`account:${principal.username}`]));
  await engine.start();

  app = createHttpApp();
  // Tokens in these tests are `<role>:<username>`; the real parent authenticates against the store.
  app.addHook('onRequest', async (request) => {
    const [role, username] = (request.headers.authorization ?? '').replace(/^Bearer /, '').split(':');
    if (role && username) request.principal = { role: role as PrincipalRole, username };
  });
  registerJobRoutes(app, engine);
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

after(async () => {
  releaseSlowJob();
  await app.close();
  await engine.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call<T>(method: string, path: string, token: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as T };
}

function fleetpanel(token: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, '--url', url, '--token', token, ...args], { env: { ...process.env, FLEETPANEL_CONTEXT: join(dir, 'none.json') } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('admin sees every job; a user sees only the jobs of their own account, others answer 404', async () => {
  const alice = await engine.enqueue({ type: 'test.watched', key: 'account:alice' });
  const bob = await engine.enqueue({ type: 'test.watched', key: 'account:bob' });
  await engine.waitFor(alice.id);
  await engine.waitFor(bob.id);

  const all = await call<{ jobs: JobView[] }>('GET', '/api/jobs', 'admin:root');
  assert.ok([alice.id, bob.id].every((id) => all.body.jobs.some((j) => j.id === id)));
  const mine = await call<{ jobs: JobView[] }>('GET', '/api/jobs', 'user:alice');
  assert.deepEqual(mine.body.jobs.map((j) => j.id), [alice.id]);
  assert.equal((await call('GET', `/api/jobs/${bob.id}`, 'user:alice')).status, 404);
  const detail = await call<JobDetail>('GET', `/api/jobs/${alice.id}`, 'user:alice');
  assert.equal(detail.status, 200);
  assert.deepEqual(detail.body.steps.map((s) => s.state), ['done']);
  const byKey = await call<{ jobs: JobView[] }>('GET', '/api/jobs?key=account:bob&state=succeeded', 'admin:root');
  assert.deepEqual(byKey.body.jobs.map((j) => j.id), [bob.id]);
  assert.equal((await call('GET', '/api/jobs?state=exploded', 'admin:root')).status, 400);
});

test('cancel and retry are the admin\'s; a finished job cannot be cancelled', async () => {
  const slow = await engine.enqueue({ type: 'test.slow', key: 'account:alice' });
  assert.equal((await call('POST', `/api/jobs/${slow.id}/cancel`, 'user:alice')).status, 403);
  const events = await call<{ job: JobView; events: { id: number }[] }>('GET', `/api/jobs/${slow.id}/events?after=0`, 'user:alice');
  assert.equal(events.status, 200);
  const cancelled = await call<JobView>('POST', `/api/jobs/${slow.id}/cancel`, 'admin:root');
  assert.equal(cancelled.status, 200);
  releaseSlowJob();
  assert.equal((await engine.waitFor(slow.id)).state, 'rolled_back');
  const again = await call<{ error: string; message: string }>('POST', `/api/jobs/${slow.id}/cancel`, 'admin:root');
  assert.equal(again.status, 409);
  assert.match(again.body.message, /nothing to cancel/);
  assert.equal((await call('POST', `/api/jobs/${slow.id}/retry`, 'admin:root')).status, 409);
});

test('`fleetpanel job watch` prints progress lines and exits 0 on success, with the error\'s code on failure', async () => {
  const good = await engine.enqueue({ type: 'test.watched', key: 'account:carol' });
  const watched = await fleetpanel('admin:root', 'job', 'watch', String(good.id));
  assert.equal(watched.code, 0, watched.stderr);
  assert.match(watched.stdout, /\[copy-mailboxes\] copied 1\/3 mailboxes\n.*\[copy-mailboxes\] copied 2\/3 mailboxes\n.*\[copy-mailboxes\] copied 3\/3 mailboxes/);
  assert.match(watched.stdout, /succeeded\n$/);

  const bad = await engine.enqueue({ type: 'test.watched', key: 'account:carol', data: { fail: true } });
  const failed = await fleetpanel('admin:root', 'job', 'watch', String(bad.id));
  assert.equal(failed.code, 2, 'exit code of a validation error');
  assert.match(failed.stderr, /job \d+ rolled back: step copy-mailboxes failed: mailbox: INBOX did not verify/);

  const listed = await fleetpanel('admin:root', 'job', 'list', '--key', 'account:carol');
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`${bad.id}\\s+test.watched\\s+account:carol\\s+rolled_back`));
  const shown = await fleetpanel('admin:root', 'job', 'show', String(good.id));
  assert.match(shown.stdout, /state:\s+succeeded/);
  assert.match(shown.stdout, /1\s+copy-mailboxes\s+done/);
  assert.equal((await fleetpanel('user:dave', 'job', 'show', String(good.id))).code, 5, 'not found for someone who may not see it');
});
