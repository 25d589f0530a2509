/**
 * Account transfers between two real parent/child pairs (issue 12): the first pair's parent on
 * 127.<net>.46.1 with the mail child mail1 on .2, the second pair's parent on 127.<net>.47.1 with
 * its mail child mail9 on 127.<net>.47.2. Every refusal is checked to have changed nothing. The
 * source parent is killed with SIGKILL at an exact step through FLEETPANEL_TEST_POINT_FILE (see
 * src/distribution/test-points.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import mysql from 'mysql2/promise';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { probe } from '../web/http-probe.ts';
import { useTestCluster, callApi, type ApiResult } from './cluster-fixture.ts';
import { imapSubjects, sendMail } from '../mail/mail-clients.ts';
import { assertExactlyOnce as assertExactlyOnceIn } from '../mail/exactly-once.ts';
import { hashMailPassword } from '../../src/mail/mail-password.ts';
import { AuthService } from '../../src/auth/auth.service.ts';
import type { TransferBundle } from '../../src/transfers/transfer.schemas.ts';
import type { JobView } from '../../src/jobs/index.ts';
import { TEST_NET } from '../test-net.ts';
import { run } from '../../src/core/exec.ts';
import { startPebble, stopPebble } from '../../src/demo/pebble.ts';

const BLOCK = `${TEST_NET}.46`;
const SECOND_BLOCK = `${TEST_NET}.47`;
const SECOND_PARENT = `${SECOND_BLOCK}.1`;
const PARENT = `${BLOCK}.1`;
const PASSWORD = 'violet-tugboat-marmalade-91';
const MAIL_PASSWORD = 'copper-lantern-orchard-57';

const pointFile = join(process.env.TMPDIR ?? '/tmp', `fleetpanel-transfer-point-${process.pid}`);
process.env.FLEETPANEL_TEST_POINT_FILE = pointFile;

// The certificate test orders from pebble: the renewal loop looks every two seconds (read when the parents start).
process.env.FLEETPANEL_CERTIFICATE_TICK_MS = '2000';
// An order that fails once (as one did in a full run from a fresh clone; that run kept no logs)
// is tried again after 2 s rather than the product's 5 minutes, as in certificates.test.ts.
process.env.FLEETPANEL_ACME_RETRY_BASE_MS = '2000';

// Both parents' own nodes run MariaDB too: an account's databases move from one to the other.
const fixture = useTestCluster({
  block: BLOCK,
  parentRoles: ['mail', 'web', 'dns', 'database'],
  children: [{ alias: 'mail1', roles: ['mail'], link: 'token' }],
  second: { block: SECOND_BLOCK, parentRoles: ['mail', 'web', 'dns', 'database'], children: [{ alias: 'mail9', roles: ['mail'], link: 'token' }] },
});

function target<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token = fixture.second.info.token): Promise<ApiResult<T>> {
  return callApi<T>(fixture.second.info.url, method, path, body, token);
}

async function bundle(username: string, domain: string, extra: Partial<TransferBundle> = {}): Promise<TransferBundle> {
  return {
    version: 1,
    source: 'parent',
    account: { username, domain, passwordHash: await AuthService.hashPassword(PASSWORD), ipv6: false, suspended: false, owner: 'admin', reseller: null },
    plan: { name: 'moved', diskMb: 2048, mailboxes: 20, domains: 2 },
    mailboxes: [{ address: `info@${domain}`, passwordHash: hashMailPassword(MAIL_PASSWORD), quotaMb: 0 }],
    forwarders: [{ source: `sales@${domain}`, destinations: [`info@${domain}`] }],
    pipeForwarders: [],
    dnsRecords: [{ name: `txt.${domain}`, type: 'TXT', ttl: 300, content: 'moved here' }],
    ...extra,
  };
}

function source<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token = fixture.info.token): Promise<ApiResult<T>> {
  return callApi<T>(fixture.info.url, method, path, body, token);
}

/** dig's short answers from one parent's PowerDNS, sorted. */
function dig(server: string, name: string, type: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('dig', [`@${server}`, '-p', '53', '+short', '+norecurse', '+time=2', '+tries=2', name, type], (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout.split('\n').filter(Boolean).sort());
    });
  });
}

/** Every subject once in the mailbox, read through that pair's parent. */
function assertExactlyOnce(host: string, address: string, subjects: readonly string[], timeoutMs = 90_000): Promise<void> {
  return assertExactlyOnceIn({ host, user: address, pass: MAIL_PASSWORD }, subjects, timeoutMs);
}

/**
 * Sends a message every 100 ms to the source parent, as a client with a cached MX would; once the
 * source refuses the domain (the transfer finished and removed it there), to the target parent.
 * Returns the subjects some server accepted.
 */
function liveMail(to: string, prefix: string): { stop(): Promise<string[]> } {
  const accepted: string[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const subject = `${prefix}-${i}`;
      try {
        await sendMail(PARENT, { to, subject });
        accepted.push(subject);
      } catch {
        await sendMail(SECOND_PARENT, { to, subject }).then(() => accepted.push(subject), () => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return accepted;
    },
  };
}

async function accountsOnTarget(): Promise<string[]> {
  return (await target<{ accounts: { username: string }[] }>('GET', '/api/accounts')).body.accounts.map((a) => a.username).sort();
}

describe('two pairs', () => {
  test('each parent has its own nodes, store and admin token', async () => {
    const first = await callApi<{ nodes: { alias: string; host: string; status: string }[] }>(fixture.info.url, 'GET', '/api/nodes', undefined, fixture.info.token);
    const second = await target<{ nodes: { alias: string; host: string; status: string }[] }>('GET', '/api/nodes');
    assert.deepEqual(first.body.nodes.map((n) => [n.alias, n.host, n.status]).sort(), [['mail1', `${BLOCK}.2`, 'ready'], ['parent', `${BLOCK}.1`, 'ready']]);
    assert.deepEqual(second.body.nodes.map((n) => [n.alias, n.host, n.status]).sort(), [['mail9', `${SECOND_BLOCK}.2`, 'ready'], ['parent2', `${SECOND_BLOCK}.1`, 'ready']]);
    const crossed = await target('GET', '/api/nodes', undefined, fixture.info.token);
    assert.equal(crossed.status, 401);
  });
});

describe('import API of the target parent', () => {
  test('an imported account holds its mail until the import is finished, then delivers it; abort is only for imports under way', async () => {
    const imported = await target<{ mailNode: string; owner: string; plan: string }>('POST', '/api/transfers/imports', await bundle('imported', 'imported.test', { mailNode: 'mail9' }));
    assert.equal(imported.status, 201, imported.body.message);
    assert.deepEqual([imported.body.mailNode, imported.body.owner, imported.body.plan], ['mail9', 'admin', 'moved']);
    const records = await target<{ records: { name: string; type: string; content: string }[] }>('GET', '/api/accounts/imported/dns/records');
    assert.ok(records.body.records.some((r) => r.name === 'txt.imported.test' && r.type === 'TXT'), JSON.stringify(records.body));

    await sendMail(SECOND_PARENT, { to: 'sales@imported.test', subject: 'held-1' });
    // Held, not delivered: the source's copy would race it.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.deepEqual(await imapSubjects({ host: SECOND_PARENT, user: 'info@imported.test', pass: MAIL_PASSWORD }), []);
    const finished = await target('POST', '/api/transfers/imports/imported/finish');
    assert.equal(finished.status, 200, finished.body.message);
    const deadline = Date.now() + 30_000;
    let subjects: string[] = [];
    while (Date.now() < deadline && !subjects.includes('held-1')) {
      subjects = await imapSubjects({ host: SECOND_PARENT, user: 'info@imported.test', pass: MAIL_PASSWORD }).catch(() => []);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.deepEqual(subjects, ['held-1']);
    const abort = await target('DELETE', '/api/transfers/imports/imported');
    assert.equal(abort.status, 409, 'a finished import is an ordinary account');

    const second = await target('POST', '/api/transfers/imports', await bundle('dropped', 'dropped.test'));
    assert.equal(second.status, 201, second.body.message);
    const dropped = await target<{ removed: boolean }>('DELETE', '/api/transfers/imports/dropped');
    assert.equal(dropped.status, 200, dropped.body.message);
    assert.deepEqual(await accountsOnTarget(), ['imported']);
  });

  test('refusals change nothing: username or domain taken, a token without admin rights, a bad bundle', async () => {
    const before = await accountsOnTarget();
    const taken = await target('POST', '/api/transfers/imports', await bundle('imported', 'other.test'));
    assert.equal(taken.status, 409);
    assert.match(taken.body.message ?? '', /already has an account or login named 'imported'/);
    const domain = await target('POST', '/api/transfers/imports', await bundle('other', 'imported.test'));
    assert.equal(domain.status, 409);
    assert.match(domain.body.message ?? '', /already has the domain 'imported.test'/);
    const check = await target('GET', '/api/transfers/check?username=other&domain=imported.test');
    assert.equal(check.status, 409);

    const session = await target<{ token: string }>('POST', '/api/session', { username: 'imported', password: PASSWORD }, '');
    assert.equal(session.status, 201, session.body.message);
    const notAdmin = await target('POST', '/api/transfers/imports', await bundle('other', 'other.test'), session.body.token);
    assert.equal(notAdmin.status, 403);
    assert.match(notAdmin.body.message ?? '', /admin token/);

    const outside = await target('POST', '/api/transfers/imports', await bundle('other', 'other.test', { mailboxes: [{ address: 'info@elsewhere.test', passwordHash: hashMailPassword(MAIL_PASSWORD), quotaMb: 0 }] }));
    assert.equal(outside.status, 400);
    assert.equal(outside.body.field, 'mailboxes[0].address');
    const noNode = await target('POST', '/api/transfers/imports', await bundle('other', 'other.test', { mailNode: 'mail1' }));
    assert.equal(noNode.status, 400);
    assert.equal(noNode.body.field, 'mailNode');
    assert.deepEqual(await accountsOnTarget(), before);
    const plans = await target<{ plans: { name: string }[] }>('GET', '/api/plans');
    assert.ok(plans.body.plans.some((p) => p.name === 'moved'));
  });
});

describe('account transfer', () => {
  before(() => {
    // nginx's workers run as www-data and must traverse the cluster folders to reach the document roots.
    chmodSync(fixture.dir, 0o755);
    chmodSync(join(fixture.dir, 'pair2'), 0o755);
  });

  test('a distributed account moves to the other pair while mail arrives every 100 ms: every message once there, site and DNS from the new pair, nothing left on the old', async () => {
    const created = await source('POST', '/api/accounts', { username: 'mover', domain: 'mover.test', password: PASSWORD, mailNode: 'mail1' });
    assert.equal(created.status, 201, created.body.message);
    for (const local of ['info', 'team']) {
      const added = await source('POST', '/api/accounts/mover/mail/mailboxes', { address: `${local}@mover.test`, password: MAIL_PASSWORD });
      assert.equal(added.status, 201, added.body.message);
    }
    const forwarder = await source('POST', '/api/accounts/mover/mail/forwarders', { source: 'sales@mover.test', destinations: ['team@mover.test'] });
    assert.equal(forwarder.status, 201, forwarder.body.message);
    const record = await source('POST', '/api/accounts/mover/dns/records', { name: 'txt.mover.test', type: 'TXT', ttl: 300, content: 'transferred' });
    assert.equal(record.status, 201, record.body.message);
    const early: string[] = [];
    for (let i = 0; i < 20; i++) {
      await sendMail(PARENT, { to: 'info@mover.test', subject: `early-${i}` });
      early.push(`early-${i}`);
    }
    await sendMail(PARENT, { to: 'sales@mover.test', subject: 'forwarded-early' });
    await assertExactlyOnce(PARENT, 'info@mover.test', early);
    // A file the user uploaded to the site (as the account's own user would have: the copy keeps it).
    writeFileSync(join(new NodeLayout(fixture.cluster.nodeRoot('parent')).www('mover', 'mover.test', 'public_html'), 'hello.txt'), 'uploaded before the transfer\n');

    const mail = liveMail('info@mover.test', 'live');
    // Held at verify (after the files and the web proxy, before finish and clean): the old pair's web node forwards the site to the new pair's.
    writeFileSync(pointFile, 'pause:transfer:verify');
    const running = fixture.cli(['account', 'transfer', 'mover', '--to', fixture.second.info.url, '--token-stdin', '--mail-node', 'mail9'], `${fixture.second.info.token}\n`);
    try {
      const deadline = Date.now() + 300_000;
      for (;;) {
        const jobs = await source<{ jobs: JobView[] }>('GET', '/api/jobs?key=account:mover');
        const job = jobs.body.jobs.find((j) => j.type === 'account.transfer');
        if (job?.currentStep === 'verify') break;
        if (job && ['succeeded', 'rolled_back', 'failed', 'held'].includes(job.state)) assert.fail(`the transfer ended (${job.state}) before it reached verify`);
        if (Date.now() > deadline) assert.fail(`the transfer did not reach verify (at ${job?.currentStep ?? 'nothing'})`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      // A file only the new pair's copy of the site has: what the old address answers comes from there.
      writeFileSync(join(new NodeLayout(fixture.second.cluster.nodeRoot('parent2')).www('mover', 'mover.test', 'public_html'), 'moved.txt'), 'served by the new pair\n');
      assert.equal(existsSync(join(new NodeLayout(fixture.cluster.nodeRoot('parent')).www('mover', 'mover.test', 'public_html'), 'moved.txt')), false);
      for (const [host, tls] of [['mover.test', false], ['www.mover.test', false], ['mover.test', true]] as const) {
        const proxied = await probe(PARENT, host, { path: '/moved.txt', tls });
        assert.equal(proxied.kind === 'response' ? `${proxied.status} ${proxied.body}` : proxied.error, '200 served by the new pair\n', `${tls ? 'https' : 'http'}://${host}/moved.txt at the old pair's address`);
      }
      const uploaded = await probe(PARENT, 'mover.test', { path: '/hello.txt' });
      assert.equal(uploaded.kind === 'response' && uploaded.body, 'uploaded before the transfer\n', 'the copied file, through the old address');
    } finally {
      rmSync(pointFile, { force: true });
    }
    const cli = await running;
    // A little more mail after the end: it now goes to the new pair.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const live = await mail.stop();
    assert.equal(cli.code, 0, `${cli.stdout}\n${cli.stderr}`);
    assert.match(cli.stderr, /\[#+\.*\] \d+\/\d+ /, 'the CLI draws a progress bar');
    assert.ok(live.length >= 20, `only ${live.length} live messages were sent`);

    await assertExactlyOnce(SECOND_PARENT, 'info@mover.test', [...early, ...live]);
    await assertExactlyOnce(SECOND_PARENT, 'team@mover.test', ['forwarded-early']);
    const moved = await target<{ mailNode: string; owner: string }>('GET', '/api/accounts/mover');
    assert.equal(moved.status, 200, moved.body.message);
    assert.deepEqual([moved.body.mailNode, moved.body.owner], ['mail9', 'admin']);
    const forwarders = await target<{ forwarders: { source: string }[] }>('GET', '/api/accounts/mover/mail/forwarders');
    assert.ok(JSON.stringify(forwarders.body).includes('sales@mover.test'));

    const site = await probe(SECOND_PARENT, 'mover.test');
    assert.equal(site.kind === 'response' && site.status, 200, 'the site answers from the new pair');
    const uploaded = await probe(SECOND_PARENT, 'mover.test', { path: '/hello.txt' });
    assert.equal(uploaded.kind === 'response' && uploaded.body, 'uploaded before the transfer\n', 'the site files came along');
    assert.deepEqual(await dig(SECOND_PARENT, 'mover.test', 'A'), [SECOND_PARENT]);
    assert.deepEqual(await dig(SECOND_PARENT, 'mail.mover.test', 'A'), [`${SECOND_BLOCK}.2`]);
    assert.deepEqual(await dig(SECOND_PARENT, 'txt.mover.test', 'TXT'), ['"transferred"']);

    assert.equal((await source('GET', '/api/accounts/mover')).status, 404, 'the old parent no longer has the account');
    assert.deepEqual(await dig(PARENT, 'mover.test', 'A'), [], 'the old pair no longer answers for the zone');
    const oldSite = await probe(PARENT, 'mover.test');
    assert.ok(oldSite.kind === 'closed' || oldSite.status !== 200 || !oldSite.body.includes('mover.test'), 'the old pair no longer serves the site');
    const forwarded = await probe(PARENT, 'mover.test', { path: '/moved.txt' });
    assert.ok(forwarded.kind === 'closed' || forwarded.status !== 200, 'nor forwards it, once its copy is removed');
    for (const alias of ['parent', 'mail1']) {
      const maildirs = new NodeLayout(fixture.cluster.nodeRoot(alias)).mail('mover.test');
      assert.ok(!existsSync(maildirs) || readdirSync(maildirs).length === 0, `${alias} keeps no mail of mover.test`);
    }
    const jobs = await source<{ jobs: { type: string; state: string }[] }>('GET', '/api/jobs?key=account:mover');
    assert.deepEqual(jobs.body.jobs.filter((j) => j.type === 'account.transfer').map((j) => j.state), ['succeeded']);
  });
});

describe('a transfer cancelled after the web proxy started', () => {
  test('its undo serves the site and delivers the mail on the old pair again, the mail the target held included, and the target keeps nothing of it', async () => {
    await accountWithMail('undone', ['before']);
    const oldRoot = new NodeLayout(fixture.cluster.nodeRoot('parent')).www('undone', 'undone.test', 'public_html');
    writeFileSync(join(oldRoot, 'where.txt'), 'the old pair\n');

    writeFileSync(pointFile, 'pause:transfer:verify');
    let jobId = 0;
    try {
      jobId = await startTransfer('undone');
      await jobAtStep(jobId, 'verify');
      // The old address forwards the site to the new pair now: the file only the old pair has is changed there.
      writeFileSync(join(new NodeLayout(fixture.second.cluster.nodeRoot('parent2')).www('undone', 'undone.test', 'public_html'), 'where.txt'), 'the new pair\n');
      const forwarded = await probe(PARENT, 'undone.test', { path: '/where.txt' });
      assert.equal(forwarded.kind === 'response' && forwarded.body, 'the new pair\n', 'forwarded while the transfer runs');
      // Relayed to the target, which holds it until a finish that will not come.
      for (let i = 0; i < 5; i++) await sendMail(PARENT, { to: 'info@undone.test', subject: `held-${i}` });
      const cancelled = await source('POST', `/api/jobs/${jobId}/cancel`);
      assert.equal(cancelled.status, 200, cancelled.body.message);
    } finally {
      rmSync(pointFile, { force: true });
    }
    const settled = (await jobSettled(jobId)).state;
    assert.equal(settled, 'rolled_back');

    const served = await probe(PARENT, 'undone.test', { path: '/where.txt' });
    assert.equal(served.kind === 'response' && served.body, 'the old pair\n', 'the old pair serves the site itself again');
    await sendMail(PARENT, { to: 'info@undone.test', subject: 'after' });
    await assertExactlyOnce(PARENT, 'info@undone.test', ['before', ...Array.from({ length: 5 }, (_, i) => `held-${i}`), 'after']);
    assert.equal((await source('GET', '/api/accounts/undone')).status, 200);
    assert.equal((await target('GET', '/api/accounts/undone')).status, 404, 'the target removed the import');
    const there = await probe(SECOND_PARENT, 'undone.test', { path: '/where.txt' });
    assert.ok(there.kind === 'closed' || there.status !== 200, 'the target no longer serves the site');
  });
});

describe('a source parent killed during a transfer', () => {
  // A live message relayed to the target right as `finish` lifted its hold used to stay in the
  // target's hold queue for good (an smtpd session under way at the reload put it there after the
  // release); PostfixDriver.releaseHeld now releases again once those sessions ended.
  test('SIGKILL of the source parent in the middle of the copy under live mail: after its restart the job finishes and every message is there once', async () => {
    const early = Array.from({ length: 10 }, (_, i) => `before-${i}`);
    await accountWithMail('killed', early);

    const pid = Number(readFileSync(join(fixture.dir, 'pids', 'parent.pid'), 'utf8').trim());
    writeFileSync(pointFile, 'kill:transfer:copy');
    const mail = liveMail('info@killed.test', 'killed');
    const jobId = await startTransfer('killed');
    for (let i = 0; i < 600; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(existsSync(pointFile), false, 'the parent reached the copy step and was killed there');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await fixture.cluster.up();
    await movedUnderLiveMail('killed', (await jobSettled(jobId, 240_000)).state, mail, early);
  });
});

describe('a target parent killed during a transfer', () => {
  test('SIGKILL of the target parent after the import, under live mail: restarted, it holds the import as it was and the transfer finishes with every message there once', async () => {
    const early = ['before-0', 'before-1', 'before-2'];
    await accountWithMail('struck', early);

    // The source waits at the copy, after the target took the import and the route relays there.
    writeFileSync(pointFile, 'pause:transfer:copy');
    const mail = liveMail('info@struck.test', 'struck');
    let jobId = 0;
    try {
      jobId = await startTransfer('struck');
      await jobAtStep(jobId, 'copy');
      const pid = Number(readFileSync(join(fixture.dir, 'pair2', 'pids', 'parent.pid'), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
      await pollUntil('the target parent to be gone', async () => {
        try {
          process.kill(pid, 0);
          return undefined;
        } catch {
          return true;
        }
      });
      await fixture.second.cluster.up();
    } finally {
      rmSync(pointFile, { force: true });
    }
    await movedUnderLiveMail('struck', (await jobSettled(jobId)).state, mail, early);
  });
});

/** An account `<username>.test` on the source's own node with the mailbox info@, which holds `subjects` (sent over SMTP). */
async function accountWithMail(username: string, subjects: string[]): Promise<void> {
  const created = await source('POST', '/api/accounts', { username, domain: `${username}.test`, password: PASSWORD });
  assert.equal(created.status, 201, created.body.message);
  const added = await source('POST', `/api/accounts/${username}/mail/mailboxes`, { address: `info@${username}.test`, password: MAIL_PASSWORD });
  assert.equal(added.status, 201, added.body.message);
  for (const subject of subjects) await sendMail(PARENT, { to: `info@${username}.test`, subject });
  await assertExactlyOnce(PARENT, `info@${username}.test`, subjects);
}

/** Starts a transfer of the account to the second pair through the API; returns its job's id. */
async function startTransfer(username: string, body: Record<string, unknown> = {}): Promise<number> {
  const queued = await source<{ job: { id: number } }>('POST', `/api/accounts/${username}/transfer`, { to: fixture.second.info.url, token: fixture.second.info.token, ...body });
  assert.equal(queued.status, 202, queued.body.message);
  return queued.body.job.id;
}

/** Starts a transfer through the API and waits until its job settles; returns the job's state and error. */
async function transferAndWait(username: string, body: Record<string, unknown> = {}): Promise<{ state: string; error: string | null }> {
  return jobSettled(await startTransfer(username, body));
}

/** Waits until a job of the source parent has settled (succeeded, rolled back, held or failed); a parent that is down meanwhile is asked again. */
function jobSettled(id: number, timeoutMs = 300_000): Promise<{ state: string; error: string | null }> {
  return pollUntil(`job ${id} to settle`, async () => {
    const job = (await source<JobView>('GET', `/api/jobs/${id}`)).body;
    return ['succeeded', 'rolled_back', 'held', 'failed'].includes(job.state) ? { state: job.state, error: job.error } : undefined;
  }, timeoutMs);
}

/** After a transfer under live mail (`settled`: its job's end): the job succeeded and every message sent before and during it is on the new pair once; the old pair has no account left. */
async function movedUnderLiveMail(username: string, settled: string, mail: { stop(): Promise<string[]> }, early: string[]): Promise<void> {
  // A little more mail after the end: it now goes to the new pair.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const live = await mail.stop();
  assert.equal(settled, 'succeeded');
  assert.ok(live.length >= 10, `only ${live.length} live messages were sent`);
  await assertExactlyOnce(SECOND_PARENT, `info@${username}.test`, [...early, ...live]);
  assert.equal((await source('GET', `/api/accounts/${username}`)).status, 404);
}

/** Waits until a job of the source parent is at `step` (held there by a test point). */
function jobAtStep(id: number, step: string): Promise<true> {
  return pollUntil(`job ${id} to reach ${step}`, async () => ((await source<JobView>('GET', `/api/jobs/${id}`)).body.currentStep === step ? true : undefined), 300_000);
}

async function pollUntil<T>(what: string, probeOnce: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probeOnce().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const DB_PASSWORD = 'walnut-gazebo-quartz-64';

describe('databases, WordPress and the certificate move with the account', () => {
  before(() => {
    // nginx's workers run as www-data and must traverse the cluster folders to reach the document roots.
    chmodSync(fixture.dir, 0o755);
    chmodSync(join(fixture.dir, 'pair2'), 0o755);
  });

  test('an account with two databases (one of them WordPress\'s) moves: every row there, its users log in with the same passwords, WordPress answers from the new pair, nothing left on the old', async () => {
    const created = await source('POST', '/api/accounts', { username: 'shop', domain: 'shop.test', password: PASSWORD });
    assert.equal(created.status, 201, created.body.message);
    const wordpress = await source<{ database: string; databaseNode: string }>('POST', '/api/apps/wordpress', { site: 'shop.test', title: 'Shop Moved Along', adminPassword: PASSWORD });
    assert.equal(wordpress.status, 201, wordpress.body.message);
    assert.deepEqual([wordpress.body.database, wordpress.body.databaseNode], ['shop_wp', 'parent']);
    const database = await source('POST', '/api/accounts/shop/databases', { name: 'shop_data' });
    assert.equal(database.status, 201, database.body.message);
    const user = await source('PUT', '/api/accounts/shop/database-users/shop_app', { password: DB_PASSWORD });
    assert.equal(user.status, 200, user.body.message);
    const grant = await source('PUT', '/api/accounts/shop/database-users/shop_app/grants/shop_data', {});
    assert.equal(grant.status, 200, grant.body.message);

    const writer = await mysql.createConnection({ host: PARENT, port: 3306, user: 'shop_app', password: DB_PASSWORD, database: 'shop_data' });
    await writer.query('CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(100), amount DECIMAL(10,2), note TEXT NULL)');
    const rows = Array.from({ length: 500 }, (_, i) => [i + 1, `item ${i + 1} ünïcode ✓`, (i * 1.25).toFixed(2), i % 7 === 0 ? null : `note ${i}`]);
    await writer.query('INSERT INTO orders VALUES ?', [rows]);
    const [before] = await writer.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n, SUM(amount) AS total, MD5(GROUP_CONCAT(id, item, COALESCE(note, '-') ORDER BY id)) AS digest FROM orders");
    await writer.end();
    const home = await probe(PARENT, 'shop.test');
    assert.ok(home.kind === 'response' && home.body.includes('Shop Moved Along'), 'WordPress answers on the old pair first');

    const job = await transferAndWait('shop');
    assert.equal(job.state, 'succeeded', job.error ?? '');

    const listed = await target<{ node: string; databases: { name: string }[]; users: { name: string; databases: string[] }[] }>('GET', '/api/accounts/shop/databases');
    assert.equal(listed.status, 200, listed.body.message);
    assert.equal(listed.body.node, 'parent2');
    assert.deepEqual(listed.body.databases.map((d) => d.name), ['shop_data', 'shop_wp']);
    assert.deepEqual(listed.body.users.map((u) => [u.name, u.databases]), [['shop_app', ['shop_data']], ['shop_wp', ['shop_wp']]]);

    // The same password as on the old pair: the hash moved, not the password.
    const reader = await mysql.createConnection({ host: SECOND_PARENT, port: 3306, user: 'shop_app', password: DB_PASSWORD, database: 'shop_data' });
    const [after] = await reader.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n, SUM(amount) AS total, MD5(GROUP_CONCAT(id, item, COALESCE(note, '-') ORDER BY id)) AS digest FROM orders");
    await reader.query('INSERT INTO orders VALUES (501, "written at the target", 1.00, NULL)');
    await reader.end();
    assert.deepEqual(after, before);
    await assert.rejects(mysql.createConnection({ host: SECOND_PARENT, port: 3306, user: 'shop_app', password: 'not-the-password', database: 'shop_data' }), /denied/i);

    // WordPress on the new pair reads its own database there (wp-config.php names the new database node).
    let last = '';
    await pollUntil('WordPress to answer from the new pair', async () => {
      // The account's fresh PHP pool may take a while on a loaded machine (the probe gives up after 5 s).
      const moved = await probe(SECOND_PARENT, 'shop.test');
      last = moved.kind === 'response' ? `${moved.status} ${moved.body.slice(0, 300)}` : moved.error;
      return moved.kind === 'response' && moved.status === 200 && moved.body.includes('Shop Moved Along') ? true : undefined;
    }).catch((error: Error) => assert.fail(`${error.message}; last answer: ${last}`));
    const config = readFileSync(join(new NodeLayout(fixture.second.cluster.nodeRoot('parent2')).www('shop', 'shop.test', 'public_html'), 'wp-config.php'), 'utf8');
    assert.match(config, new RegExp(`define\\('DB_HOST', '${SECOND_PARENT.replace(/\./g, '\\.')}:3306'\\);`));

    // Nothing of it on the old pair: account, databases, users.
    assert.equal((await source('GET', '/api/accounts/shop')).status, 404);
    const dataDir = new NodeLayout(fixture.cluster.nodeRoot('parent')).lib('mariadb', 'data');
    for (const name of ['shop_data', 'shop_wp']) assert.equal(existsSync(join(dataDir, name)), false, `${name} is gone from the old pair's MariaDB`);
    await assert.rejects(mysql.createConnection({ host: PARENT, port: 3306, user: 'shop_app', password: DB_PASSWORD }), /denied|not allowed/i);
  });

  describe('with a pebble beside each parent', () => {
    let rootFile: string;
    after(async () => {
      await stopPebble(fixture.cluster.pebbleDir);
      await stopPebble(fixture.second.cluster.pebbleDir);
    });
    interface CertificateView { kind: string; issuer: string; notAfter: string; renewAt: string; names: string[] }

    /** The certificate a TLS client sees at host:443 for the name, and whether it verifies against pebble's root (the old pair's, unless `root` names another). */
    async function served(host: string, name: string, root = rootFile): Promise<{ fingerprint: string; verified: boolean }> {
      const { stdout } = await run('openssl', ['s_client', '-connect', `${host}:443`, '-servername', name, '-CAfile', root, '-verify_hostname', name], { input: '', timeoutMs: 15_000 }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout);
      assert.ok(pem, `no certificate from ${host}:443 for ${name}: ${stdout.slice(0, 300)}`);
      return { fingerprint: new X509Certificate(pem[0]).fingerprint256, verified: /Verify return code: 0 \(ok\)/.test(stdout) };
    }

    test('an issued certificate moves with the account: the new pair serves the same certificate over HTTPS and keeps its renewal date, the old pair drops it', async () => {
      const pebble = await startPebble(fixture.cluster.pebbleOptions());
      const set = await source('PUT', '/api/ssl/ca', { directoryUrl: pebble.directoryUrl, caBundle: pebble.listenerCaPem });
      assert.equal(set.status, 200, set.body.message);
      rootFile = join(fixture.dir, 'pebble-root.pem');
      writeFileSync(rootFile, await fixture.cluster.pebbleRoot());

      const created = await source('POST', '/api/accounts', { username: 'secure', domain: 'secure.test', password: PASSWORD });
      assert.equal(created.status, 201, created.body.message);
      const issued = await pollUntil('an issued certificate for secure', async () => {
        const view = await source<CertificateView>('GET', '/api/accounts/secure/ssl');
        return view.body.kind === 'issued' ? view.body : undefined;
      }, 180_000);
      const before = await pollUntil('the old pair to serve it', async () => {
        const seen = await served(PARENT, 'secure.test');
        return seen.verified ? seen : undefined;
      });

      const job = await transferAndWait('secure');
      assert.equal(job.state, 'succeeded', job.error ?? '');

      // Right after the transfer, the new pair answers HTTPS with the very same certificate.
      const there = await served(SECOND_PARENT, 'secure.test');
      assert.deepEqual(there, before);
      const www = await served(SECOND_PARENT, 'www.secure.test');
      assert.equal(www.fingerprint, before.fingerprint);
      const view = await target<CertificateView>('GET', '/api/accounts/secure/ssl');
      assert.equal(view.status, 200, view.body.message);
      // Issued, with the renewal date the old pair had: the new parent's renewal loop orders the next one then.
      assert.deepEqual([view.body.kind, view.body.issuer, view.body.notAfter, view.body.renewAt, [...view.body.names].sort()], [issued.kind, issued.issuer, issued.notAfter, issued.renewAt, [...issued.names].sort()]);

      assert.equal((await source('GET', '/api/accounts/secure')).status, 404);
      const tls = new NodeLayout(fixture.cluster.nodeRoot('parent')).etc('tls');
      const left = existsSync(tls) ? readdirSync(tls, { recursive: true }).map(String).filter((f) => f.includes('secure.test')) : [];
      assert.deepEqual(left, [], 'the old pair keeps no file of the certificate');
      // The old parent's nginx answers the name with another certificate or ends the handshake: either way not with this one.
      const old = await served(PARENT, 'secure.test').catch(() => undefined);
      assert.notEqual(old?.fingerprint, before.fingerprint, 'the old pair no longer serves it');
    });

    test('the moved certificate is renewed by the new pair: ordered from its own CA with the zone it now serves, and served over HTTPS', async () => {
      // The new pair's pebble asks the new parent's PowerDNS for the DNS-01 answers: the zone moved there.
      const pebble = await startPebble(fixture.second.cluster.pebbleOptions());
      const set = await target('PUT', '/api/ssl/ca', { directoryUrl: pebble.directoryUrl, caBundle: pebble.listenerCaPem });
      assert.equal(set.status, 200, set.body.message);
      const newRoot = join(fixture.dir, 'pebble-root-second.pem');
      writeFileSync(newRoot, await fixture.second.cluster.pebbleRoot());
      const moved = (await target<CertificateView>('GET', '/api/accounts/secure/ssl')).body;

      const renewal = await target<{ job: JobView }>('POST', '/api/accounts/secure/ssl/renew', {});
      assert.equal(renewal.status, 202, renewal.body.message);
      const renewed = await pollUntil('a certificate of the new pair for secure', async () => {
        const view = await target<CertificateView>('GET', '/api/accounts/secure/ssl');
        return view.body.kind === 'issued' && view.body.notAfter !== moved.notAfter ? view.body : undefined;
      }, 180_000);
      assert.deepEqual([...renewed.names].sort(), [...moved.names].sort());
      // The view shows the certificate once it is stored, before the job's deploy step has put it
      // on the node (nginx's old workers still answer for a moment then): what the product
      // promises is that it serves once the order's job has succeeded, so that is when it is asked.
      await pollUntil('the certificate job of secure to succeed', async () => {
        const jobs = (await target<{ jobs: JobView[] }>('GET', '/api/jobs?key=certificate%3Asecure')).body.jobs;
        return jobs[0]?.state === 'succeeded' ? true : undefined;
      }, 180_000);
      const now = await served(SECOND_PARENT, 'secure.test', newRoot);
      assert.ok(now.verified, "the new pair serves a certificate of its own CA once the order's job succeeded");
      const againstOldRoot = await served(SECOND_PARENT, 'secure.test', rootFile);
      assert.deepEqual([againstOldRoot.fingerprint, againstOldRoot.verified], [now.fingerprint, false], "issued by the new pair's CA, not the old one's");
    });
  });
});
