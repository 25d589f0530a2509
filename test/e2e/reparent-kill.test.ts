/**
 * SIGKILL of the old parent in the middle of a re-parent, under live mail: the old parent on
 * <net>.54.1 with the child kid (.2), the new parent on <net>.154.1. The old parent is killed at an
 * exact point through FLEETPANEL_TEST_POINT_FILE (src/distribution/test-points.ts): right after the
 * new parent took the first of two accounts, before the job recorded it, with the child already
 * handed over (it refuses the old parent from then on). Restarted, the job must go on from there,
 * not import that account twice, and end with both accounts at the new parent and every message
 * that a server accepted in their mailboxes once.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTestCluster, callApi, type ApiResult, type TestCluster } from './cluster-fixture.ts';
import { callAgentAs } from './agent-call.ts';
import { createDistributedAccounts } from './distributed-accounts.ts';
import { isAlive, waitFor } from '../../src/agent/daemon-process.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { mailboxHome } from '../../src/mail/dovecot-config.ts';
import type { JobDetail, JobView } from '../../src/jobs/index.ts';
import type { NodeView } from '../../src/nodes/node.model.ts';
import { sendMail } from '../mail/mail-clients.ts';
import { assertExactlyOnce } from '../mail/exactly-once.ts';
import { TEST_NET } from '../test-net.ts';

const OLD_BLOCK = `${TEST_NET}.54`;
const NEW_BLOCK = `${TEST_NET}.154`;
const PASSWORD = 'maple-hinge-ostrich-36';
const MAIL_PASSWORD = 'gravel-teapot-nimbus-83';

// The parents inherit the environment of this file: each looks for the point file at its steps.
const pointFile = join(tmpdir(), `fleetpanel-reparent-point-${process.pid}`);
process.env.FLEETPANEL_TEST_POINT_FILE = pointFile;

describe('an old parent killed during a re-parent', () => {
  const old = useTestCluster({ block: OLD_BLOCK, parentAlias: 'old', children: [{ alias: 'kid', roles: ['mail'], link: 'token' }] });
  const fresh = useTestCluster({ block: NEW_BLOCK, parentAlias: 'new' });
  after(() => rmSync(pointFile, { force: true }));

  const api = <T = Record<string, unknown>>(pair: TestCluster, method: string, path: string, body?: unknown): Promise<ApiResult<T>> =>
    callApi<T>(pair.info.url, method, path, body, pair.info.token);

  test('SIGKILL after the new parent took the first account, before the job recorded it: restarted, the job finishes, each account there once, every message once, no mailbox copied', async (t) => {
    const accounts = [
      { username: 'kalpha', domain: 'kalpha.test', address: 'box@kalpha.test' },
      { username: 'kbeta', domain: 'kbeta.test', address: 'box@kbeta.test' },
    ];
    await createDistributedAccounts(old, { parentAlias: 'old', mailNode: 'kid' }, accounts, { account: PASSWORD, mailbox: MAIL_PASSWORD });
    const kidLayout = new NodeLayout(old.cluster.nodeRoot('kid'));
    const maildir = (address: string): string => join(mailboxHome({ mailRoot: kidLayout.mail() }, address), 'Maildir');
    await waitFor(async () => accounts.every((a) => existsSync(maildir(a.address))), 60_000, 'the first messages on the child');
    const inodes = new Map(accounts.map((a) => [a.address, statSync(maildir(a.address)).ino]));

    // Mail keeps coming to the old parent's Postfix (which runs on while the parent's process is
    // dead) and to the child; what a server accepted must arrive once.
    const servers = [old.address('old'), old.address('kid')];
    const accepted = new Map<string, string[]>(accounts.map((a) => [a.address, [`${a.username}-first`]]));
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending && i < 5000; i++) {
        const a = accounts[i % 2]!;
        const subject = `${a.username}-${String(i).padStart(4, '0')}`;
        const started = Date.now();
        await sendMail(servers[Math.floor(i / 2) % 2]!, { to: a.address, subject }).then(
          () => accepted.get(a.address)!.push(subject),
          () => undefined, // refused while talking: the sender knows, nothing is lost
        );
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (Date.now() - started))));
      }
    })();

    let job: JobDetail;
    try {
      const pid = Number(readFileSync(join(old.dir, 'pids', 'parent.pid'), 'utf8').trim());
      writeFileSync(pointFile, 'kill:reparent:imported');
      const started = await api<{ job: JobView }>(old, 'POST', '/api/nodes/kid/reparent', { to: fresh.info.url, token: fresh.info.token });
      assert.equal(started.status, 202, started.body.message);
      const jobId = started.body.job.id;
      await waitFor(async () => !isAlive(pid), 300_000, 'the old parent to reach the point and die');
      assert.equal(existsSync(pointFile), false, 'the old parent was killed at the point, not by something else');
      // At the kill the new parent has the first account and the child answers to it only.
      const there = await api<{ accounts: { username: string }[] }>(fresh, 'GET', '/api/accounts');
      assert.deepEqual(there.body.accounts.map((a) => a.username), ['kalpha']);

      // Only the parent's process starts again (the cluster's up() would wait for kid, which is not its node any more).
      old.cluster.startParent();
      await waitFor(async () => (await api(old, 'GET', '/api/health').catch(() => ({ status: 0 }))).status === 200, 60_000, 'the old parent to answer again');
      job = await waitForSettled(old, jobId);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } finally {
      sending = false;
      await sender;
    }
    assert.equal(job.state, 'succeeded', `${job.error}: ${job.events.map((e) => e.message).join(' | ')}`);
    assert.deepEqual(job.steps.map((s) => [s.name, s.state]), [['plan', 'done'], ['handover', 'done'], ['import', 'done'], ['databases', 'done'], ['release', 'done'], ['forget', 'done']]);
    assert.ok(job.events.some((e) => e.kind === 'progress' && /imported kbeta .*2\/2; no mail copied/.test(e.message)), 'the resumed import went on to the second account');

    // Each account once at the new parent, distributed to the same child; the old parent has neither them nor the node.
    const there = await api<{ accounts: { username: string; mailNode: string | null }[] }>(fresh, 'GET', '/api/accounts');
    assert.deepEqual(there.body.accounts.map((a) => [a.username, a.mailNode]).sort(), [['kalpha', 'kid'], ['kbeta', 'kid']]);
    for (const a of accounts) assert.equal((await api(old, 'GET', `/api/accounts/${a.username}`)).status, 404);
    assert.equal((await api(old, 'GET', '/api/nodes/kid')).status, 404);
    assert.equal((await api<NodeView>(fresh, 'GET', '/api/nodes/kid')).body.status, 'ready');

    for (const a of accounts) {
      const subjects = accepted.get(a.address)!;
      assert.ok(subjects.length > 10, `${a.address}: ${subjects.length} messages went through the move`);
      await assertExactlyOnce({ host: fresh.address('new'), user: a.address, pass: MAIL_PASSWORD }, subjects, 120_000);
      assert.equal(statSync(maildir(a.address)).ino, inodes.get(a.address), `${a.address}: the same Maildir, never copied`);
    }
    t.diagnostic(`accepted ${[...accepted.values()].map((l) => l.length).join(' + ')} messages`);

    // The restarted old parent still does not reach the child: refused by mTLS.
    const ca = join(old.dir, 'parent', 'ca');
    const refused = await callAgentAs(old.address('kid'), 'GET', '/v1/health', undefined, { cert: readFileSync(join(ca, 'client.crt'), 'utf8'), key: readFileSync(join(ca, 'client.key'), 'utf8') });
    assert.equal(refused.status, 401);
  });
});

async function waitForSettled(pair: TestCluster, jobId: number): Promise<JobDetail> {
  let job: JobDetail | undefined;
  await waitFor(
    async () => {
      job = (await callApi<JobDetail>(pair.info.url, 'GET', `/api/jobs/${jobId}`, undefined, pair.info.token)).body;
      return ['succeeded', 'failed', 'held', 'rolled_back'].includes(job.state);
    },
    600_000,
    `re-parent job ${jobId} to settle`,
  );
  return job!;
}
