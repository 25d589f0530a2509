/**
 * Mail distribution on a real cluster: the parent on 127.0.38.1 (every role) and two mail
 * children on .2 and .3. Mail is sent over SMTP to the parent (as a client with a cached MX
 * would) and read over IMAP through the parent; every count comes from the daemons. The parent is
 * killed with SIGKILL at exact points of a move through FLEETPANEL_TEST_POINT_FILE (see
 * src/distribution/test-points.ts), and a child is stopped in the middle of the copy.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { useTestCluster, callApi, type ApiResult } from './cluster-fixture.ts';
import { imapClient, imapLoginSucceeds, sendMail } from '../mail/mail-clients.ts';
import { assertExactlyOnce as assertExactlyOnceIn } from '../mail/exactly-once.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { AGENT_MODULES } from '../../src/node-agent/agent.main.ts';
import { teardownContext } from '../../src/agent/agent-module.ts';
import type { JobView } from '../../src/jobs/index.ts';
import type { NodeAccountsView, ForcedDedistributionReport } from '../../src/distribution/distribution.service.ts';
import { TEST_NET } from '../test-net.ts';

const BLOCK = `${TEST_NET}.38`;
const PARENT = `${BLOCK}.1`;
const PASSWORD = 'violet-tugboat-marmalade-91';
const MAIL_PASSWORD = 'copper-lantern-orchard-57';

const pointFile = join(process.env.TMPDIR ?? '/tmp', `fleetpanel-distribution-point-${process.pid}`);
process.env.FLEETPANEL_TEST_POINT_FILE = pointFile;
process.env.FLEETPANEL_DISTRIBUTION_TICK_MS = '1000';

const fixture = useTestCluster({
  block: BLOCK,
  children: [
    { alias: 'mail1', roles: ['mail'], link: 'token' },
    { alias: 'mail2', roles: ['mail'], link: 'token' },
  ],
});

function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token = fixture.info.token): Promise<ApiResult<T>> {
  return callApi<T>(fixture.info.url, method, path, body, token);
}

async function createAccount(username: string, domain: string, extra: Record<string, unknown> = {}, token?: string): Promise<void> {
  const created = await api('POST', '/api/accounts', { username, domain, password: PASSWORD, ...extra }, token);
  assert.equal(created.status, 201, created.body.message);
}

async function addMailbox(username: string, address: string): Promise<void> {
  const added = await api('POST', `/api/accounts/${username}/mail/mailboxes`, { address, password: MAIL_PASSWORD });
  assert.equal(added.status, 201, added.body.message);
}

async function accountView(username: string): Promise<{ mailNode: string | null; ipv6: boolean }> {
  return (await api<{ mailNode: string | null; ipv6: boolean }>('GET', `/api/accounts/${username}`)).body;
}

async function waitJob(id: number, timeoutMs = 180_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await api<JobView>('GET', `/api/jobs/${id}`).catch(() => undefined);
    if (job?.status === 200 && ['succeeded', 'rolled_back', 'held', 'failed'].includes(job.body.state)) return job.body;
    if (Date.now() > deadline) assert.fail(`job ${id} did not settle in ${timeoutMs} ms (last: ${job?.body.state ?? 'parent down'})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function moveMail(username: string, mailNode: string, extra: Record<string, unknown> = {}): Promise<JobView> {
  const queued = await api<{ job: JobView }>('POST', `/api/accounts/${username}/mail-node`, { mailNode, ...extra });
  assert.equal(queued.status, 202, queued.body.message);
  return queued.body.job;
}

/** Every subject once in the mailbox, read through the parent (which proxies to the child when the mail is there). */
function assertExactlyOnce(address: string, subjects: readonly string[], timeoutMs = 60_000): Promise<void> {
  return assertExactlyOnceIn({ host: PARENT, user: address, pass: MAIL_PASSWORD }, subjects, timeoutMs);
}

function parentPid(): number {
  return Number(readFileSync(join(fixture.dir, 'pids', 'parent.pid'), 'utf8').trim());
}

/** The job reaches its kill point only after the steps before it, each with its checks and reloads: minutes on a loaded machine. */
async function waitParentDown(pid: number): Promise<void> {
  for (let i = 0; i < 2400; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`parent ${pid} still running`);
}

/** Stops a child's agent and its Dovecot and Postfix: the node is gone, not only its agent. */
async function stopChild(alias: string): Promise<void> {
  await fixture.cluster.stopAgent(alias);
  const layout = new NodeLayout(fixture.cluster.nodeRoot(alias));
  for (const module of AGENT_MODULES) for (const daemon of module.daemons?.(teardownContext({ layout, address: fixture.address(alias), log: () => undefined })) ?? []) await daemon.stop().catch(() => undefined);
}

/** Messages in a node's Postfix hold queue (mail accepted for a domain whose mailboxes are being copied in). */
function heldMessages(alias: string): number {
  const out = execFileSync('postqueue', ['-c', new NodeLayout(fixture.cluster.nodeRoot(alias)).etc('postfix'), '-j'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.trim() !== '' && (JSON.parse(line) as { queue_name: string }).queue_name === 'hold').length;
}

/** Message files in a node's Maildirs for a domain (every folder, cur and new). */
function maildirFiles(alias: string, domain: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\/(cur|new)$/.test(dir)) files.push(path);
    }
  };
  walk(join(fixture.cluster.nodeRoot(alias)));
  return files.filter((f) => f.includes(`/${domain}/`)).sort();
}

/** Starts moving an account's mail to a child, and stops that child (agent and daemons) once the move reaches its copy step. */
async function distributeThenLoseChildAtCopy(username: string, child: string): Promise<JobView> {
  writeFileSync(pointFile, 'pause:distribute:copy');
  const job = await moveMail(username, child);
  const deadline = Date.now() + 60_000;
  while ((await api<JobView>('GET', `/api/jobs/${job.id}`)).body.currentStep !== 'copy') {
    if (Date.now() > deadline) assert.fail('the job did not reach the copy');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stopChild(child);
  rmSync(pointFile, { force: true });
  return job;
}

describe('mail distribution', () => {
  test('while mail arrives every 100 ms and an IMAP client stays logged in, the account moves to a child and back: every message exactly once, IMAP through the parent works', async () => {
    const domain = 'live-move.test';
    const address = `box@${domain}`;
    await createAccount('livemove', domain);
    await addMailbox('livemove', address);

    const sent: string[] = [];
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending && i < 600; i++) {
        const subject = `live-${String(i).padStart(4, '0')}`;
        const started = Date.now();
        await sendMail(PARENT, { to: address, subject });
        sent.push(subject);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (Date.now() - started))));
      }
    })();
    // An IMAP client that stays logged in through the parent; a cut-over ends its session and it logs in again, as mail clients do.
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const client = imapClient({ host: PARENT, user: address, pass: MAIL_PASSWORD });
        try {
          await client.connect();
          while (reading && client.usable) {
            await client.noop();
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        } catch {
          // ended by the cut-over: log in again, as a mail client does
        } finally {
          await client.logout().catch(() => undefined);
        }
      }
    })();

    await new Promise((resolve) => setTimeout(resolve, 1500));
    const cli = await fixture.cli(['account', 'modify', 'livemove', '--mail-node', 'mail1']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /\[copy\] copied mailbox 1\/1/);
    assert.match(cli.stdout, /\[verify\] box@live-move.test: \d+ message\(s\) on parent, all on mail1/);
    assert.equal((await accountView('livemove')).mailNode, 'mail1');
    assert.deepEqual(maildirFiles('parent', domain), [], "the parent's copy is removed after it verified");
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const back = await fixture.cli(['account', 'modify', 'livemove', '--mail-node', 'local', '--grace', '2s']);
    assert.equal(back.code, 0, back.stderr);
    assert.equal((await accountView('livemove')).mailNode, null);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // A fast pair of moves (the bulk copy) can take less than 3 s: mail keeps coming until at least 30 went out.
    for (let waited = 0; sent.length < 30 && waited < 30_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    sending = false;
    await sender;
    reading = false;
    await reader;

    assert.ok(sent.length >= 30, `only ${sent.length} messages were sent`);
    await assertExactlyOnce(address, sent);
    assert.equal(await imapLoginSucceeds({ host: PARENT, user: address, pass: MAIL_PASSWORD }), true);
    // The grace period (2 s) ends and the child's copy goes.
    const deadline = Date.now() + 30_000;
    while (maildirFiles('mail1', domain).length > 0 || (await api<NodeAccountsView>('GET', '/api/nodes/mail1/distributed-accounts')).body.accounts.some((a) => a.username === 'livemove')) {
      if (Date.now() > deadline) assert.fail('the grace copy on mail1 was not removed');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await assertExactlyOnce(address, sent);
    assert.equal(heldMessages('parent') + heldMessages('mail1'), 0, 'no mail is left held once the moves are over');
  });

  for (const point of ['plan', 'prepare', 'route', 'cut-over', 'copy', 'verify', 'clean']) {
    test(`SIGKILL of the parent at '${point}' of a distribution: the job finishes or undoes after a restart, no message lost or doubled`, async () => {
      const name = `k${point.replace('-', '').slice(0, 6)}`;
      const domain = `kill-${name}.test`;
      const address = `box@${domain}`;
      await createAccount(name, domain);
      await addMailbox(name, address);
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) {
        sent.push(`${name}-before-${i}`);
        await sendMail(PARENT, { to: address, subject: sent.at(-1)! });
      }
      await assertExactlyOnce(address, sent);

      const pid = parentPid();
      writeFileSync(pointFile, `kill:distribute:${point}`);
      const job = await moveMail(name, 'mail1');
      await waitParentDown(pid);
      assert.equal(existsSync(pointFile), false, 'the parent reached the point');
      for (let i = 0; i < 3; i++) {
        sent.push(`${name}-while-down-${i}`);
        await sendMail(PARENT, { to: address, subject: sent.at(-1)! });
      }
      await fixture.cluster.up();
      const settled = await waitJob(job.id);
      assert.ok(['succeeded', 'rolled_back'].includes(settled.state), `job ${job.id} ${settled.state}: ${settled.error}`);
      const view = await accountView(name);
      assert.equal(view.mailNode, settled.state === 'succeeded' ? 'mail1' : null);
      sent.push(`${name}-after`);
      await sendMail(PARENT, { to: address, subject: sent.at(-1)! });
      await assertExactlyOnce(address, sent);
    });
  }

  test('the child going down in the middle of the copy: the parent keeps its copy untouched and the job resumes when the child returns', async () => {
    const domain = 'child-down.test';
    const address = `box@${domain}`;
    await createAccount('childdown', domain);
    await addMailbox('childdown', address);
    const sent: string[] = [];
    for (let i = 0; i < 10; i++) {
      sent.push(`down-${i}`);
      await sendMail(PARENT, { to: address, subject: sent.at(-1)! });
    }
    await assertExactlyOnce(address, sent);
    const before = maildirFiles('parent', domain);

    const job = await distributeThenLoseChildAtCopy('childdown', 'mail2');
    // The copy cannot reach mail2: the job waits for it (not undone), and the parent's Maildir is as it was.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const waiting = (await api<JobView>('GET', `/api/jobs/${job.id}`)).body;
    assert.equal(waiting.state, 'running', `job is ${waiting.state}: ${waiting.error}`);
    assert.equal(waiting.currentStep, 'copy');
    assert.equal(waiting.errorKind, 'node_unavailable');
    assert.deepEqual(maildirFiles('parent', domain).map((f) => f.replace(/:2,.*$/, '')), before.map((f) => f.replace(/:2,.*$/, '')));

    fixture.cluster.startAgent('mail2', fixture.address('mail2'), false);
    const settled = await waitJob(job.id, 240_000);
    assert.equal(settled.state, 'succeeded', settled.error ?? '');
    assert.equal((await accountView('childdown')).mailNode, 'mail2');
    await assertExactlyOnce(address, sent);
  });

  test('a move waiting for a child that is gone for good is abandoned by a forced dedistribution: the parent serves its own copy at once and nothing is undone against the dead child', async () => {
    const domain = 'gone-child.test';
    const address = `box@${domain}`;
    await createAccount('gonechild', domain);
    await addMailbox('gonechild', address);
    const sent = ['gone-0', 'gone-1', 'gone-2'];
    for (const subject of sent) await sendMail(PARENT, { to: address, subject });
    await assertExactlyOnce(address, sent);

    const job = await distributeThenLoseChildAtCopy('gonechild', 'mail2');
    try {
      const waitingSince = Date.now();
      while ((await api<JobView>('GET', `/api/jobs/${job.id}`)).body.errorKind !== 'node_unavailable') {
        if (Date.now() - waitingSince > 60_000) assert.fail('the job did not start waiting for mail2');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const forced = await fixture.cli(['--json', 'node', 'force-dedistribute', 'mail2', 'gonechild', '--accept-data-loss']);
      assert.equal(forced.code, 0, forced.stderr);
      const report = JSON.parse(forced.stdout) as ForcedDedistributionReport;
      assert.deepEqual(report.abandonedJobs, [job.id]);
      const abandoned = (await api<JobView>('GET', `/api/jobs/${job.id}`)).body;
      assert.equal(abandoned.state, 'abandoned');
      assert.match(abandoned.error ?? '', /nothing was undone/);
      assert.equal((await accountView('gonechild')).mailNode, null);
      // The parent never gave its copy away (clean had not run): every message is there, once.
      await assertExactlyOnce(address, sent);
      sent.push('gone-after');
      await sendMail(PARENT, { to: address, subject: 'gone-after' });
      await assertExactlyOnce(address, sent);
    } finally {
      fixture.cluster.startAgent('mail2', fixture.address('mail2'), false);
    }
  });

  test('a move cancelled after the route (mail already arriving at the child) is undone: everything is back on the parent exactly once and the child keeps nothing', async () => {
    const domain = 'undo-move.test';
    const address = `box@${domain}`;
    await createAccount('undomove', domain);
    await addMailbox('undomove', address);
    const sent = ['undo-0', 'undo-1', 'undo-2'];
    for (const subject of sent) await sendMail(PARENT, { to: address, subject });
    await assertExactlyOnce(address, sent);

    writeFileSync(pointFile, 'pause:distribute:verify');
    const job = await moveMail('undomove', 'mail1');
    const deadline = Date.now() + 60_000;
    while ((await api<JobView>('GET', `/api/jobs/${job.id}`)).body.currentStep !== 'verify') {
      if (Date.now() > deadline) assert.fail('the job did not reach verify');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Routed: these reach the child only, which holds them in its queue while mailboxes are copied in.
    for (const subject of ['undo-late-0', 'undo-late-1']) {
      sent.push(subject);
      await sendMail(PARENT, { to: address, subject });
    }
    const late = Date.now() + 30_000;
    while (heldMessages('mail1') < 2) {
      if (Date.now() > late) assert.fail('the late mail was not held at mail1');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal((await api('POST', `/api/jobs/${job.id}/cancel`)).status, 200);
    rmSync(pointFile, { force: true });
    const settled = await waitJob(job.id);
    assert.equal(settled.state, 'rolled_back', settled.error ?? '');
    assert.equal((await accountView('undomove')).mailNode, null);
    await assertExactlyOnce(address, sent);
    assert.deepEqual(maildirFiles('mail1', domain), [], "the child's copy is gone once everything in it was back on the parent");
    assert.equal(heldMessages('mail1'), 0, 'the child holds no mail back');
    assert.equal(heldMessages('parent'), 0, 'the parent released what it held while the copy drained back');
  });

  test('restrictions: each refusal is clear and changes nothing', async () => {
    await createAccount('rules', 'rules-site.test');
    await addMailbox('rules', 'box@rules-site.test');

    // IPv6 on: distribution refused.
    assert.equal((await api('PUT', '/api/accounts/rules', { ipv6: true })).status, 200);
    let refused = await fixture.cli(['account', 'modify', 'rules', '--mail-node', 'mail1']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /IPv6 on; a distributed account cannot have IPv6/);
    assert.equal((await accountView('rules')).mailNode, null);
    assert.equal((await api('PUT', '/api/accounts/rules', { ipv6: false })).status, 200);

    // Pipe forwarders: listed and refused, then dropped on request.
    const pipe = await api('POST', '/api/accounts/rules/mail/forwarders', { source: 'box@rules-site.test', pipe: '/usr/bin/true' });
    assert.equal(pipe.status, 201, pipe.body.message);
    refused = await fixture.cli(['account', 'modify', 'rules', '--mail-node', 'mail1']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /pipe-to-program forwarder.*box@rules-site.test \| \/usr\/bin\/true.*--drop-pipe-forwarders/);
    assert.equal((await accountView('rules')).mailNode, null);
    const moved = await fixture.cli(['account', 'modify', 'rules', '--mail-node', 'mail1', '--drop-pipe-forwarders']);
    assert.equal(moved.code, 0, moved.stderr);
    assert.deepEqual((await api<{ forwarders: unknown[] }>('GET', '/api/accounts/rules/mail/forwarders')).body.forwarders, []);

    // Distributed: IPv6 refused; a second child refused; the child's copy cannot be cleaned while it serves the mail.
    const ipv6 = await api('PUT', '/api/accounts/rules', { ipv6: true });
    assert.equal(ipv6.status, 400);
    assert.match(ipv6.body.message ?? '', /child node/);
    const pipeWhileDistributed = await api('POST', '/api/accounts/rules/mail/forwarders', { source: 'box@rules-site.test', pipe: '/usr/bin/true' });
    assert.equal(pipeWhileDistributed.status, 409);
    assert.match(pipeWhileDistributed.body.message ?? '', /pipe-to-program forwarders are not allowed on rules: its mail lives on the child node 'mail1'/);
    assert.deepEqual((await api<{ forwarders: unknown[] }>('GET', '/api/accounts/rules/mail/forwarders')).body.forwarders, []);
    refused = await fixture.cli(['account', 'modify', 'rules', '--mail-node', 'mail2']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /one child per workload and its mail is on 'mail1'/);
    refused = await fixture.cli(['node', 'cleanup', 'mail1', 'rules']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /distributed to 'mail1', which serves its mail/);
    assert.equal((await accountView('rules')).mailNode, 'mail1');
    assert.equal(await imapLoginSucceeds({ host: PARENT, user: 'box@rules-site.test', pass: MAIL_PASSWORD }), true);

    // One job per account: a second move while one is queued is refused.
    writeFileSync(pointFile, 'pause:dedistribute:plan');
    const first = await moveMail('rules', 'local', { graceSeconds: 0 });
    const second = await api('POST', '/api/accounts/rules/mail-node', { mailNode: 'local' });
    assert.equal(second.status, 409);
    assert.match(second.body.message ?? '', /account:rules/);
    rmSync(pointFile, { force: true });
    assert.equal((await waitJob(first.id)).state, 'succeeded');

    // Users and resellers cannot move mail; no user login on a child (the agent takes only the parent's mTLS client).
    const userToken = (await api<{ token: string }>('POST', '/api/session', { username: 'rules', password: PASSWORD }, '')).body.token;
    const byUser = await api('POST', '/api/accounts/rules/mail-node', { mailNode: 'mail1' }, userToken);
    assert.equal(byUser.status, 403);
    assert.equal((await accountView('rules')).mailNode, null);
    await assert.rejects(fetch(`https://${fixture.address('mail1')}:7443/v1/health`), 'the child agent refuses a client without the parent certificate');
    await assert.rejects(fetch(`http://${fixture.address('mail1')}:8080/api/health`), 'a child runs no panel API to log in to');
  });

  test('resellers: a distributed reseller keeps its accounts where they are, its new accounts follow it, and an account move leaves the reseller alone', async () => {
    await createAccount('resel', 'resel-site.test');
    assert.equal((await api('PUT', '/api/resellers/resel', {})).status, 200);
    await createAccount('custa', 'custa-site.test', { owner: 'resel' });
    const moved = await moveMail('resel', 'mail2');
    assert.equal((await waitJob(moved.id)).state, 'succeeded');
    assert.equal((await accountView('resel')).mailNode, 'mail2');
    assert.equal((await accountView('custa')).mailNode, null, "the reseller's move does not move its accounts");
    const resellerToken = (await api<{ token: string }>('POST', '/api/session', { username: 'resel', password: PASSWORD }, '')).body.token;
    await createAccount('custb', 'custb-site.test', {}, resellerToken);
    assert.equal((await accountView('custb')).mailNode, 'mail2', "a distributed reseller's new account goes to the same child");
    const back = await moveMail('custb', 'local', { graceSeconds: 0 });
    assert.equal((await waitJob(back.id)).state, 'succeeded');
    assert.equal((await accountView('resel')).mailNode, 'mail2', "an account's move does not move its reseller");
    const listed = (await api<NodeAccountsView>('GET', '/api/nodes/mail2/distributed-accounts')).body;
    assert.ok(listed.accounts.some((a) => a.username === 'resel' && a.state === 'distributed'));
    const cli = await fixture.cli(['node', 'accounts', 'mail2']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /resel\s+resel-site.test\s+admin\s+distributed/);
  });

  test('forced dedistribution of a child that is gone: served by the parent at once, credentials revoked when it returns, the lost mail reported exactly', async () => {
    const domain = 'forced.test';
    const address = `box@${domain}`;
    await createAccount('forced', domain);
    await addMailbox('forced', address);
    for (let i = 0; i < 4; i++) await sendMail(PARENT, { to: address, subject: `forced-${i}` });
    await assertExactlyOnce(address, ['forced-0', 'forced-1', 'forced-2', 'forced-3']);
    const moved = await moveMail('forced', 'mail1');
    assert.equal((await waitJob(moved.id)).state, 'succeeded');
    await stopChild('mail1');

    const refused = await fixture.cli(['node', 'force-dedistribute', 'mail1', 'forced']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--accept-data-loss/);
    const forced = await fixture.cli(['--json', 'node', 'force-dedistribute', 'mail1', 'forced', '--accept-data-loss']);
    assert.equal(forced.code, 0, forced.stderr);
    const report = JSON.parse(forced.stdout) as ForcedDedistributionReport;
    const account = report.accounts[0]!;
    assert.equal(account.revoked, 'recorded, applied when the node answers');
    assert.equal(account.mailboxes[0]!.address, address);
    assert.equal(account.mailboxes[0]!.lastKnownMessages, 4);
    assert.equal(account.mailboxes[0]!.lostGuids.length, 4);
    assert.equal((await accountView('forced')).mailNode, null);
    await sendMail(PARENT, { to: address, subject: 'forced-after' });
    await assertExactlyOnce(address, ['forced-after']);

    fixture.cluster.startAgent('mail1', fixture.address('mail1'), false);
    const deadline = Date.now() + 60_000;
    while (!(await api<NodeAccountsView>('GET', '/api/nodes/mail1/distributed-accounts')).body.revocations.some((r) => r.username === 'forced' && r.applied)) {
      if (Date.now() > deadline) assert.fail('the revocation was not applied when mail1 returned');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(await imapLoginSucceeds({ host: fixture.address('mail1'), user: address, pass: MAIL_PASSWORD }), false, 'the child no longer accepts the mailbox login');
  });
});
