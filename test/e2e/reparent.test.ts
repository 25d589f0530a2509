/**
 * Re-parenting a child on two real pairs: the old parent "old" on <net>.50.1 with the children
 * kid (.2), spare (.3) and kid2 (.4), and the new parent "new" on <net>.150.1 with its own node
 * only; both parents' own nodes run MariaDB. kid moves by handover, with a database of one of its
 * accounts, kid2 by the reference's procedure (--via-dedistribution), after the refusals were
 * tried on it. The
 * handover is checked from both parents and from the child's agent itself (which client
 * certificates it takes); mail is sent over SMTP to both parents and to the child while the job
 * runs and read over IMAP through the new parent; the child's Maildirs are looked at on disk.
 * Nothing depends on wall-clock time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import mysql from 'mysql2/promise';
import { useTestCluster, callApi, type ApiResult, type TestCluster } from './cluster-fixture.ts';
import { callAgentAs } from './agent-call.ts';
import { createDistributedAccounts } from './distributed-accounts.ts';
import { waitFor } from '../../src/agent/daemon-process.ts';
import { AGENT_ROUTES } from '../../src/protocol/agent-routes.ts';
import { AgentClient, type ClientIdentity } from '../../src/transport/agent-client.ts';
import type { NodeView } from '../../src/nodes/node.model.ts';
import type { JobDetail } from '../../src/jobs/index.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { mailboxHome } from '../../src/mail/dovecot-config.ts';
import { sendMail } from '../mail/mail-clients.ts';
import { assertExactlyOnce } from '../mail/exactly-once.ts';
import { TEST_NET } from '../test-net.ts';

const OLD_BLOCK = `${TEST_NET}.50`;
const NEW_BLOCK = `${TEST_NET}.150`;
const PASSWORD = 'violet-tugboat-marmalade-91';
const MAIL_PASSWORD = 'copper-lantern-orchard-57';
const DB_PASSWORD = 'walnut-gazebo-quartz-64';
/** What a table holds, as the transfers e2e test compares it: count, a sum and a digest of every row. */
const TABLE_DIGEST = "SELECT COUNT(*) AS n, SUM(amount) AS total, MD5(GROUP_CONCAT(id, item, COALESCE(note, '-') ORDER BY id)) AS digest FROM orders";

/** dig's short answers from one parent's PowerDNS. */
function dig(server: string, name: string, type: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('dig', [`@${server}`, '-p', '53', '+short', '+norecurse', '+time=2', '+tries=2', name, type], (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout.split('\n').filter(Boolean).sort());
    });
  });
}

function identityOf(pair: TestCluster): ClientIdentity {
  const ca = join(pair.dir, 'parent', 'ca');
  return {
    caCertPem: readFileSync(join(ca, 'ca.crt'), 'utf8'),
    clientCertPem: readFileSync(join(ca, 'client.crt'), 'utf8'),
    clientKeyPem: readFileSync(join(ca, 'client.key'), 'utf8'),
  };
}

describe('re-parenting a child', () => {
  const old = useTestCluster({
    block: OLD_BLOCK,
    parentAlias: 'old',
    parentRoles: ['mail', 'web', 'dns', 'database'],
    children: [
      { alias: 'kid', roles: ['mail'], link: 'token' },
      { alias: 'spare', roles: ['mail'], link: 'token' },
      { alias: 'kid2', roles: ['mail'], link: 'token' },
    ],
  });
  const fresh = useTestCluster({ block: NEW_BLOCK, parentAlias: 'new', parentRoles: ['mail', 'web', 'dns', 'database'] });

  const api = <T = Record<string, unknown>>(pair: TestCluster, method: string, path: string, body?: unknown): Promise<ApiResult<T>> =>
    callApi<T>(pair.info.url, method, path, body, pair.info.token);

  /** Every one of `subjects` once in `address`, read through the new parent (which proxies to the child); two minutes at most. */
  const assertEachOnceThroughNew = (address: string, subjects: string[]): Promise<void> =>
    assertExactlyOnce({ host: fresh.address('new'), user: address, pass: MAIL_PASSWORD }, subjects, 120_000);

  test('a handover swaps the child to the new parent in one step: the old parent is refused by mTLS, even on a kept-alive connection', async () => {
    const host = old.address('spare');
    const oldIdentity = identityOf(old);
    const asOld = { cert: oldIdentity.clientCertPem, key: oldIdentity.clientKeyPem };
    // A kept-alive connection of the old parent, opened before the handover.
    const kept = new AgentClient({ alias: 'spare', host, port: 7443 }, oldIdentity);
    try {
      assert.ok((await kept.send(AGENT_ROUTES.health)).services.length > 0);

      const identity = await api<{ parentId: string; name: string }>(fresh, 'GET', '/api/parent/identity');
      assert.equal(identity.status, 200, identity.body.message);
      assert.equal(identity.body.name, 'new');
      const issued = await callAgentAs(host, 'POST', '/v1/handover', { newParentId: identity.body.parentId, newParentName: 'new', expiresInMinutes: 5 }, asOld);
      assert.equal(issued.status, 200, issued.body.message);
      const token = issued.body.token!;

      // Until the new parent uses it, the child obeys the old parent only; no other parent can spend it.
      assert.equal((await callAgentAs(host, 'GET', '/v1/health', undefined, asOld)).status, 200);
      const thief = await callApi(old.info.url, 'POST', '/api/nodes/link', { alias: 'spare2', host, token, adopt: true }, old.info.token);
      assert.equal(thief.status, 409, 'the old parent itself cannot spend a token issued for another parent');

      const adopted = await api<NodeView>(fresh, 'POST', '/api/nodes/link', { alias: 'spare', host, token, roles: ['mail'], adopt: true });
      assert.equal(adopted.status, 201, adopted.body.message);
      assert.equal(adopted.body.status, 'adopting');
      assert.match(adopted.body.statusDetail ?? '', /handed over by old/);

      const refused = await callAgentAs(host, 'GET', '/v1/health', undefined, asOld);
      assert.equal(refused.status, 401);
      assert.match(refused.body.message!, /serves only its parent \(new\): client certificate refused/);
      // The kept connection passed its TLS handshake before the swap; the agent still refuses it.
      await assert.rejects(kept.send(AGENT_ROUTES.health), (error: Error & { kind?: string }) => {
        assert.equal(error.kind, 'unauthenticated', error.message);
        assert.match(error.message, /issued by another CA/);
        return true;
      });
      // The token is spent: a second use fails and changes nothing.
      const again = await api(fresh, 'POST', '/api/nodes/link', { alias: 'spare3', host, token, adopt: true });
      assert.ok(again.status >= 400);

      const released = await api<NodeView>(fresh, 'POST', '/api/nodes/spare/release');
      assert.equal(released.status, 200, released.body.message);
      await waitFor(async () => (await api<NodeView>(fresh, 'GET', '/api/nodes/spare')).body.status === 'ready', 120_000, 'the adopted node to be ready at the new parent');
      const newIdentity = identityOf(fresh);
      const asNew = await callAgentAs(host, 'GET', '/v1/health', undefined, { cert: newIdentity.clientCertPem, key: newIdentity.clientKeyPem });
      assert.equal(asNew.status, 200, asNew.body.message);
    } finally {
      await kept.close();
    }
  });

  test('`node reparent` moves a child with two distributed accounts while mail arrives at both parents and the child: every message once, no mailbox copied, the database of one of them copied row for row', async (t) => {
    const accounts = [
      { username: 'ralpha', domain: 'ralpha.test', address: 'box@ralpha.test' },
      { username: 'rbeta', domain: 'rbeta.test', address: 'box@rbeta.test' },
    ];
    await createDistributedAccounts(old, { parentAlias: 'old', mailNode: 'kid' }, accounts, { account: PASSWORD, mailbox: MAIL_PASSWORD });
    // ralpha has a database on the old parent's own node (its database node): it is the one thing copied.
    for (const [method, path, body] of [
      ['POST', '/api/accounts/ralpha/databases', { name: 'ralpha_data' }],
      ['PUT', '/api/accounts/ralpha/database-users/ralpha_app', { password: DB_PASSWORD }],
      ['PUT', '/api/accounts/ralpha/database-users/ralpha_app/grants/ralpha_data', {}],
    ] as const) {
      const made = await api(old, method, path, body);
      assert.ok(made.status === 200 || made.status === 201, `${method} ${path}: ${made.status} ${made.body.message}`);
    }
    const writer = await mysql.createConnection({ host: old.address('old'), port: 3306, user: 'ralpha_app', password: DB_PASSWORD, database: 'ralpha_data' });
    await writer.query('CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(100), amount DECIMAL(10,2), note TEXT NULL)');
    await writer.query('INSERT INTO orders VALUES ?', [Array.from({ length: 400 }, (_, i) => [i + 1, `item ${i + 1} ünïcode ✓`, (i * 1.25).toFixed(2), i % 5 === 0 ? null : `note ${i}`])]);
    const [rowsBefore] = await writer.query<mysql.RowDataPacket[]>(TABLE_DIGEST);
    await writer.end();

    const kidLayout = new NodeLayout(old.cluster.nodeRoot('kid'));
    const maildir = (address: string): string => join(mailboxHome({ mailRoot: kidLayout.mail() }, address), 'Maildir');
    await waitFor(async () => accounts.every((a) => { try { return statSync(maildir(a.address)).isDirectory(); } catch { return false; } }), 60_000, 'the first messages on the child');
    const before = new Map(accounts.map((a) => [a.address, statSync(maildir(a.address))]));

    // Mail keeps coming to the old parent, the child and the new parent; what a server accepted must arrive once.
    // The new parent gets an account's mail once it has the account (before that it is not the
    // domain's server; as a loopback client the test would be relayed by it like any local sender).
    const atNewParent = new Set<string>();
    let sending = true;
    const watcher = (async () => {
      while (sending && atNewParent.size < accounts.length) {
        for (const a of accounts) {
          const there = await api(fresh, 'GET', `/api/accounts/${a.username}`);
          const importing = await api<{ underWay: boolean }>(fresh, 'GET', `/api/transfers/imports/${a.username}`);
          if (there.status === 200 && importing.status === 200 && !importing.body.underWay) atNewParent.add(a.username);
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    const servers = [old.address('old'), old.address('kid'), fresh.address('new')];
    const accepted = new Map<string, string[]>(accounts.map((a) => [a.address, [`${a.username}-first`]]));
    const sentTo = [0, 0, 0];
    let refusedAtSmtp = 0;
    const sender = (async () => {
      for (let i = 0; sending && i < 3000; i++) {
        const a = accounts[i % 2]!;
        const subject = `${a.username}-${String(i).padStart(4, '0')}`;
        const server = i % 3 === 2 && !atNewParent.has(a.username) ? i % 2 : i % 3;
        const started = Date.now();
        try {
          await sendMail(servers[server]!, { to: a.address, subject });
          sentTo[server]!++;
          accepted.get(a.address)!.push(subject);
        } catch {
          refusedAtSmtp++; // refused while talking (the new parent before it has the domain): the sender knows, nothing is lost
        }
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (Date.now() - started))));
      }
    })();

    try {
      const moved = await old.cli(['node', 'reparent', 'kid', '--to', fresh.info.url, '--token-stdin'], fresh.info.token);
      assert.equal(moved.code, 0, moved.stderr + moved.stdout);
      for (const step of ['plan', 'handover', 'import', 'databases', 'release', 'forget']) assert.match(moved.stdout, new RegExp(`\\[${step}\\]`), `step ${step} shows: ${moved.stdout}`);
      assert.match(moved.stdout, /\[plan\] 2 account\(s\) move with kid to new: ralpha, rbeta/);
      assert.match(moved.stdout, /\[import\] imported rbeta .*2\/2; no mail copied/);
      assert.match(moved.stdout, /\[databases\] copied database ralpha_data of ralpha to new/);
      assert.match(moved.stdout, /\[databases\] ralpha: 1 database user\(s\) locked on old .*the same rows and checksums at new: ralpha_data \(1 table\(s\), 400 row\(s\)\)/);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } finally {
      sending = false;
      await sender;
      await watcher;
    }
    assert.ok(sentTo.every((n) => n > 5), `mail went to the old parent, the child and the new parent: ${sentTo.join(', ')}`);
    t.diagnostic(`accepted ${[...accepted.values()].map((l) => l.length).join(' + ')} messages (old parent ${sentTo[0]}, child ${sentTo[1]}, new parent ${sentTo[2]}); ${refusedAtSmtp} refused at SMTP time`);

    // The accounts are the new parent's, still distributed to the same child; the old parent has neither them nor the node.
    for (const a of accounts) {
      const there = await api<{ mailNode: string | null }>(fresh, 'GET', `/api/accounts/${a.username}`);
      assert.equal(there.status, 200, there.body.message);
      assert.equal(there.body.mailNode, 'kid');
      assert.equal((await api(old, 'GET', `/api/accounts/${a.username}`)).status, 404);
      assert.ok((await dig(fresh.address('new'), a.domain, 'SOA')).length > 0, `${a.domain} is served by the new parent's DNS`);
      assert.deepEqual(await dig(old.address('old'), a.domain, 'SOA'), [], `${a.domain} is gone from the old parent's DNS`);
    }
    assert.equal((await api(old, 'GET', '/api/nodes/kid')).status, 404);
    assert.equal((await api<NodeView>(fresh, 'GET', '/api/nodes/kid')).body.status, 'ready');

    // Every accepted message once, read through the new parent (which proxies to the child).
    for (const a of accounts) {
      const subjects = accepted.get(a.address)!;
      await assertEachOnceThroughNew(a.address, subjects);
      assert.ok(subjects.length > 10, `${a.address}: ${subjects.length} messages went through the move (${refusedAtSmtp} refused at SMTP time)`);
      // The same Maildir, never copied or replaced: same inode, same creation.
      const now = statSync(maildir(a.address));
      assert.equal(now.ino, before.get(a.address)!.ino, `${a.address}: Maildir kept its inode`);
      assert.equal(now.birthtimeMs, before.get(a.address)!.birthtimeMs);
    }

    // The job read no mailbox: its steps are the six above, and the only copy is of the database.
    const jobs = await api<{ jobs: { id: number; type: string }[] }>(old, 'GET', '/api/jobs?limit=20');
    const job = jobs.body.jobs.find((j) => j.type === 'node.reparent')!;
    const detail = await api<JobDetail>(old, 'GET', `/api/jobs/${job.id}`);
    assert.deepEqual(detail.body.steps.map((s) => [s.name, s.state]), [['plan', 'done'], ['handover', 'done'], ['import', 'done'], ['databases', 'done'], ['release', 'done'], ['forget', 'done']]);

    // ralpha's database is on the new parent's database node, row for row, its user logging in
    // with the same password (its hash moved); nothing of it is left on the old parent.
    const listed = await api<{ node: string; databases: { name: string }[]; users: { name: string; databases: string[] }[] }>(fresh, 'GET', '/api/accounts/ralpha/databases');
    assert.equal(listed.status, 200, listed.body.message);
    assert.equal(listed.body.node, 'new');
    assert.deepEqual(listed.body.databases.map((d) => d.name), ['ralpha_data']);
    assert.deepEqual(listed.body.users.map((u) => [u.name, u.databases]), [['ralpha_app', ['ralpha_data']]]);
    const reader = await mysql.createConnection({ host: fresh.address('new'), port: 3306, user: 'ralpha_app', password: DB_PASSWORD, database: 'ralpha_data' });
    const [rowsAfter] = await reader.query<mysql.RowDataPacket[]>(TABLE_DIGEST);
    await reader.end();
    assert.deepEqual(rowsAfter, rowsBefore);
    assert.equal((rowsAfter as mysql.RowDataPacket[])[0]!.n, 400);
    const oldData = new NodeLayout(old.cluster.nodeRoot('old')).lib('mariadb', 'data');
    assert.equal(statSync(oldData).isDirectory(), true);
    assert.throws(() => statSync(join(oldData, 'ralpha_data')), /ENOENT/, 'ralpha_data is gone from the old parent\'s MariaDB');
    await assert.rejects(mysql.createConnection({ host: old.address('old'), port: 3306, user: 'ralpha_app', password: DB_PASSWORD }), /denied|not allowed/i);

    // The old parent no longer reaches the child's agent: refused by mTLS.
    const oldIdentity = identityOf(old);
    const refused = await callAgentAs(old.address('kid'), 'GET', '/v1/health', undefined, { cert: oldIdentity.clientCertPem, key: oldIdentity.clientKeyPem });
    assert.equal(refused.status, 401);
    assert.match(refused.body.message!, /serves only its parent \(new\): client certificate refused/);
  });

  // kid2's accounts: the refusals are tried on them, then they move --via-dedistribution.
  const kid2Accounts = [
    { username: 'dalpha', domain: 'dalpha.test', address: 'box@dalpha.test' },
    { username: 'dbeta', domain: 'dbeta.test', address: 'box@dbeta.test' },
  ];

  /** Creates kid2's two accounts (distributed to it) unless they are there already. */
  async function kid2WithAccounts(): Promise<void> {
    for (const a of kid2Accounts) {
      if ((await api(old, 'GET', `/api/accounts/${a.username}`)).status === 200) continue;
      const created = await api(old, 'POST', '/api/accounts', { username: a.username, domain: a.domain, password: PASSWORD, mailNode: 'kid2' });
      assert.equal(created.status, 201, created.body.message);
      const mailbox = await api(old, 'POST', `/api/accounts/${a.username}/mail/mailboxes`, { address: a.address, password: MAIL_PASSWORD });
      assert.equal(mailbox.status, 201, mailbox.body.message);
    }
  }

  /** Waits until a job of a pair has ended, and gives its state. */
  async function jobEnd(pair: TestCluster, id: number, timeoutMs = 300_000): Promise<string> {
    let state = '';
    await waitFor(async () => ['succeeded', 'rolled_back', 'held', 'failed', 'abandoned'].includes((state = (await api<{ state: string }>(pair, 'GET', `/api/jobs/${id}`)).body.state)), timeoutMs, `job ${id} to end`);
    return state;
  }

  /** What a refused re-parent must leave as it was, on both parents and on the child. */
  async function bothSides(): Promise<unknown> {
    const oldIdentity = identityOf(old);
    const agent = await callAgentAs(old.address('kid2'), 'GET', '/v1/health', undefined, { cert: oldIdentity.clientCertPem, key: oldIdentity.clientKeyPem });
    const node = await api<NodeView>(old, 'GET', '/api/nodes/kid2');
    const oldJobs = await api<{ jobs: { type: string }[] }>(old, 'GET', '/api/jobs?key=node:kid2');
    const oldAccounts = await api<{ accounts: { username: string; mailNode: string | null }[] }>(old, 'GET', '/api/accounts');
    const newNodes = await api<{ nodes: { alias: string }[] }>(fresh, 'GET', '/api/nodes');
    const newAccounts = await api<{ accounts: { username: string }[] }>(fresh, 'GET', '/api/accounts');
    return {
      childObeysOld: agent.status,
      node: [node.status, node.body.status],
      jobsOfNode: oldJobs.body.jobs.map((j) => j.type),
      oldAccounts: oldAccounts.body.accounts.map((a) => `${a.username}@${a.mailNode}`).sort(),
      newNodes: newNodes.body.nodes.map((n) => n.alias).sort(),
      newAccounts: newAccounts.body.accounts.map((a) => a.username).sort(),
    };
  }

  test('refusals change nothing on either side: unknown node, a token without admin rights, a parent not reachable, a username or domain taken there, an account with a job under way', async () => {
    await kid2WithAccounts();
    await waitFor(async () => (await api<NodeView>(old, 'GET', '/api/nodes/kid2')).body.status === 'ready', 120_000, 'kid2 ready');
    const before = await bothSides();
    const reparent = (alias: string, to: string, token: string, via: boolean) =>
      old.cli(['node', 'reparent', alias, '--to', to, '--token-stdin', ...(via ? ['--via-dedistribution'] : [])], token);

    for (const via of [false, true]) {
      const unknown = await reparent('nosuch', fresh.info.url, fresh.info.token, via);
      assert.equal(unknown.code, 5, unknown.stderr);
      assert.match(unknown.stderr, /node 'nosuch' does not exist/);

      const unreachable = await reparent('kid2', `http://${NEW_BLOCK}.9:8080`, fresh.info.token, via);
      assert.equal(unreachable.code, 7, unreachable.stderr);
      assert.match(unreachable.stderr, new RegExp(`${NEW_BLOCK.replace(/\./g, '\\.')}\\.9:8080 is not reachable`));

      const badToken = await reparent('kid2', fresh.info.url, 'fp_not-a-token-of-the-new-parent', via);
      assert.equal(badToken.code, 2, badToken.stderr);
      assert.match(badToken.stderr, /not valid at the target parent/);
    }

    // A token of the new parent that is not an admin's: an account user's session there.
    const user = await api(fresh, 'POST', '/api/accounts', { username: 'downer', domain: 'downer.test', password: PASSWORD });
    assert.equal(user.status, 201, user.body.message);
    const session = await callApi<{ token: string }>(fresh.info.url, 'POST', '/api/session', { username: 'downer', password: PASSWORD }, '');
    assert.equal(session.status, 201, session.body.message);
    const notAdmin = await reparent('kid2', fresh.info.url, session.body.token, true);
    assert.equal(notAdmin.code, 4, notAdmin.stderr);
    assert.match(notAdmin.stderr, /the token given is not an admin's at the new parent/);

    // The new parent already has one of the child's usernames, then one of its domains.
    const sameName = await api(fresh, 'POST', '/api/accounts', { username: 'dalpha', domain: 'elsewhere-dalpha.test', password: PASSWORD });
    assert.equal(sameName.status, 201, sameName.body.message);
    for (const via of [false, true]) {
      const taken = await reparent('kid2', fresh.info.url, fresh.info.token, via);
      assert.equal(taken.code, 6, taken.stderr);
      assert.match(taken.stderr, /already has an account or login named 'dalpha'/);
    }
    assert.equal((await api(fresh, 'DELETE', '/api/accounts/dalpha')).status, 200);
    const sameDomain = await api(fresh, 'POST', '/api/accounts', { username: 'dother', domain: 'dbeta.test', password: PASSWORD });
    assert.equal(sameDomain.status, 201, sameDomain.body.message);
    const domainTaken = await reparent('kid2', fresh.info.url, fresh.info.token, true);
    assert.equal(domainTaken.code, 6, domainTaken.stderr);
    assert.match(domainTaken.stderr, /already has the domain 'dbeta.test'/);
    assert.equal((await api(fresh, 'DELETE', '/api/accounts/dother')).status, 200);
    assert.equal((await api(fresh, 'DELETE', '/api/accounts/downer')).status, 200);
    assert.deepEqual(await bothSides(), before);

    // An account of the child with a job under way (its mail moving back, seconds of work): the
    // API is asked at once, since the CLI's own start could outlast a small move.
    const moving = await api<{ job: { id: number } }>(old, 'POST', '/api/accounts/dalpha/mail-node', { mailNode: 'local' });
    assert.equal(moving.status, 202, moving.body.message);
    for (const viaDedistribution of [false, true]) {
      const busy = await api(old, 'POST', '/api/nodes/kid2/reparent', { to: fresh.info.url, token: fresh.info.token, viaDedistribution });
      assert.equal(busy.status, 409, busy.body.message);
      assert.match(busy.body.message ?? '', new RegExp(`account 'dalpha' on node 'kid2' has job ${moving.body.job.id} \\(mail.dedistribute\\) under way`));
    }
    assert.equal(await jobEnd(old, moving.body.job.id), 'succeeded');
    // Back to kid2 as it was (its grace copy there is taken up again by the move).
    const back = await api<{ job: { id: number } }>(old, 'POST', '/api/accounts/dalpha/mail-node', { mailNode: 'kid2' });
    assert.equal(back.status, 202, back.body.message);
    assert.equal(await jobEnd(old, back.body.job.id), 'succeeded');
    assert.deepEqual(await bothSides(), before);
  });

  // Each mailbox is copied three times and each account transferred, one job after another: about
  // 6 minutes on an idle 2-core machine, over 10 under the load of a full suite, so the test has
  // its own timeout and follows the job through the API rather than the CLI's (10 minute) run.
  test('`node reparent --via-dedistribution` moves a child with two distributed accounts by the reference procedure while mail arrives at both parents and the child: every message once, the old parent refused', { timeout: 900_000 }, async (t) => {
    await kid2WithAccounts();
    for (const a of kid2Accounts) await sendMail(old.address('old'), { to: a.address, subject: `${a.username}-first` });

    // Which server may take an account's mail at this moment: the child only while one parent
    // places the account's mail on it (a child that serves no such domain would relay a loopback
    // sender's mail to the domain's MX, which does not exist), the new parent once it has the account.
    const childServes = new Set<string>();
    const atNewParent = new Set<string>();
    let sending = true;
    const watcher = (async () => {
      while (sending) {
        for (const a of kid2Accounts) {
          const here = await api<{ mailNode: string | null }>(old, 'GET', `/api/accounts/${a.username}`);
          const there = await api<{ mailNode: string | null }>(fresh, 'GET', `/api/accounts/${a.username}`);
          const importing = await api<{ underWay: boolean }>(fresh, 'GET', `/api/transfers/imports/${a.username}`);
          if (there.status === 200 && importing.status === 200 && !importing.body.underWay) atNewParent.add(a.username);
          if ((here.status === 200 && here.body.mailNode === 'kid2') || (there.status === 200 && there.body.mailNode === 'kid2')) childServes.add(a.username);
          else childServes.delete(a.username);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const servers = [old.address('old'), old.address('kid2'), fresh.address('new')];
    const accepted = new Map<string, string[]>(kid2Accounts.map((a) => [a.address, [`${a.username}-first`]]));
    const sentTo = [0, 0, 0];
    let refusedAtSmtp = 0;
    let jobEnded = false;
    const sentAfterJob = [0, 0, 0];
    const sender = (async () => {
      for (let i = 0; sending && i < 30_000; i++) {
        const a = kid2Accounts[i % 2]!;
        const subject = `${a.username}-${String(i).padStart(4, '0')}`;
        const wanted = Math.floor(i / 2) % 3;
        const server = (wanted === 1 && !childServes.has(a.username)) || (wanted === 2 && !atNewParent.has(a.username)) ? 0 : wanted;
        const started = Date.now();
        try {
          await sendMail(servers[server]!, { to: a.address, subject });
          sentTo[server]!++;
          if (jobEnded) sentAfterJob[server]!++;
          accepted.get(a.address)!.push(subject);
        } catch {
          refusedAtSmtp++; // refused while talking: the sender knows, nothing is lost
        }
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (Date.now() - started))));
      }
    })();

    let jobId = 0;
    try {
      const queued = await old.cli(['node', 'reparent', 'kid2', '--to', fresh.info.url, '--token-stdin', '--via-dedistribution', '--no-wait'], fresh.info.token);
      assert.equal(queued.code, 0, queued.stderr + queued.stdout);
      jobId = Number(/job (\d+) \(node\.reparent-via-dedistribution\) queued for node:kid2/.exec(queued.stdout)?.[1]);
      assert.ok(jobId > 0, queued.stdout);
      const state = await jobEnd(old, jobId, 1_800_000);
      jobEnded = true;
      const detail = await api<JobDetail>(old, 'GET', `/api/jobs/${jobId}`);
      assert.equal(state, 'succeeded', detail.body.events.map((e) => `[${e.step}] ${e.message}`).join('\n'));
      // Mail keeps coming to all three after the move, the child included (it serves both accounts again).
      await waitFor(async () => sentAfterJob.every((n) => n >= 4), 120_000, `mail to every server after the move: ${sentAfterJob.join(', ')}`);
    } finally {
      sending = false;
      await sender;
      await watcher;
    }
    // Each step shows in the job's progress (what `job watch` and the CLI print).
    const detail = await api<JobDetail>(old, 'GET', `/api/jobs/${jobId}`);
    const progress = detail.body.events.filter((e) => e.kind === 'progress').map((e) => `[${e.step}] ${e.message}`).join('\n');
    for (const step of ['plan', 'dedistribute', 'unlink', 'transfer', 'link', 'redistribute']) assert.match(progress, new RegExp(`^\\[${step}\\] `, 'm'), `step ${step} shows: ${progress}`);
    assert.match(progress, /\[plan\] 2 account\(s\) move with kid2 to new by the reference's procedure/);
    assert.match(progress, /\[redistribute\] dbeta: its mail is on kid2 again, now under new: 2\/2/);
    assert.ok(sentTo.every((n) => n > 5), `mail went to the old parent, the child and the new parent: ${sentTo.join(', ')}`);
    t.diagnostic(`accepted ${[...accepted.values()].map((l) => l.length).join(' + ')} messages (old parent ${sentTo[0]}, child ${sentTo[1]}, new parent ${sentTo[2]}); ${refusedAtSmtp} refused at SMTP time`);

    // The accounts are the new parent's, distributed to the same child; the old parent has neither them nor the node.
    for (const a of kid2Accounts) {
      const there = await api<{ mailNode: string | null }>(fresh, 'GET', `/api/accounts/${a.username}`);
      assert.equal(there.status, 200, there.body.message);
      assert.equal(there.body.mailNode, 'kid2');
      assert.equal((await api(old, 'GET', `/api/accounts/${a.username}`)).status, 404);
      assert.ok((await dig(fresh.address('new'), a.domain, 'SOA')).length > 0, `${a.domain} is served by the new parent's DNS`);
      assert.deepEqual(await dig(old.address('old'), a.domain, 'SOA'), [], `${a.domain} is gone from the old parent's DNS`);
    }
    assert.equal((await api(old, 'GET', '/api/nodes/kid2')).status, 404);
    assert.equal((await api<NodeView>(fresh, 'GET', '/api/nodes/kid2')).body.status, 'ready');
    const onChild = await api<{ accounts: { username: string; state: string }[] }>(fresh, 'GET', '/api/nodes/kid2/distributed-accounts');
    assert.deepEqual(onChild.body.accounts.map((a) => `${a.username} ${a.state}`).sort(), ['dalpha distributed', 'dbeta distributed']);

    // Every accepted message once, read through the new parent (which proxies to the child).
    for (const a of kid2Accounts) {
      const subjects = accepted.get(a.address)!;
      await assertEachOnceThroughNew(a.address, subjects);
      assert.ok(subjects.length > 10, `${a.address}: ${subjects.length} messages went through the move`);
    }

    // The job's steps, each done; the jobs it chained ran on both parents.
    assert.deepEqual(detail.body.steps.map((s) => [s.name, s.state]), ['plan', 'dedistribute', 'unlink', 'transfer', 'link', 'redistribute'].map((n) => [n, 'done']));
    for (const a of kid2Accounts) {
      const here = await api<{ jobs: { type: string; state: string }[] }>(old, 'GET', `/api/jobs?key=account:${a.username}`);
      for (const type of ['mail.dedistribute', 'mail.child-cleanup', 'account.transfer']) assert.ok(here.body.jobs.some((j) => j.type === type && j.state === 'succeeded'), `${a.username}: ${type} on the old parent`);
      const there = await api<{ jobs: { type: string; state: string }[] }>(fresh, 'GET', `/api/jobs?key=account:${a.username}`);
      assert.ok(there.body.jobs.some((j) => j.type === 'mail.distribute' && j.state === 'succeeded'), `${a.username}: mail.distribute on the new parent`);
    }

    // The old parent no longer reaches the child's agent: refused by mTLS.
    const oldIdentity = identityOf(old);
    const refused = await callAgentAs(old.address('kid2'), 'GET', '/v1/health', undefined, { cert: oldIdentity.clientCertPem, key: oldIdentity.clientKeyPem });
    assert.equal(refused.status, 401);
    assert.match(refused.body.message!, /serves only its parent \(new\): client certificate refused/);
  });
});
