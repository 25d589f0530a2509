/**
 * An account's life at the parent with recording workload services: what is provisioned where,
 * that a failed provision leaves no account behind, suspension, termination on every node, and
 * that a node holding accounts cannot be unlinked.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startTestParent, RecordingWorkload, STRONG, type TestParent, type WorkloadCall } from './parent-fixture.ts';
import type { AccountView } from '../../src/accounts/account.model.ts';
import { TEST_NET } from '../test-net.ts';

let t: TestParent;
const journal: WorkloadCall[] = [];
const mail = new RecordingWorkload('mail', journal);
const web = new RecordingWorkload('web', journal);
const dns = new RecordingWorkload('dns', journal);
const callsFor = (account: string) => journal.filter((c) => c.account === account);

before(async () => {
  t = await startTestParent(`${TEST_NET}.32.1`);
  for (const service of [dns, web, mail]) t.parent.services.workloads.replace(service);
  await t.addNode('parent', ['mail', 'web', 'dns'], { local: true });
  await t.addNode('mx1', ['mail']);
});
after(async () => {
  await t.stop();
});

test('create places mail, web and dns on the parent node and provisions each there', async () => {
  const created = await t.api<AccountView>('POST', '/api/accounts', t.adminToken, { username: 'alice', domain: 'alice.example', password: STRONG });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(created.body.placements.map((p) => `${p.workload}@${p.node}`).sort(), ['dns@parent', 'mail@parent', 'web@parent']);
  assert.equal(created.body.mailNode, null);
  assert.deepEqual(callsFor('alice'), [
    { op: 'provision', workload: 'mail', account: 'alice', node: 'parent' },
    { op: 'provision', workload: 'web', account: 'alice', node: 'parent' },
    { op: 'provision', workload: 'dns', account: 'alice', node: 'parent' },
  ]);
  assert.equal(mail.lastAccount?.plan.name, 'default', 'workload services receive the plan with its quotas');
  // The account's user logs in at the parent with the password it was created with.
  const token = await t.login('alice', STRONG);
  const me = await t.api<{ role: string }>('GET', '/api/me', token);
  assert.equal(me.body.role, 'user');
});

test('a failed provision undoes the workloads done before it and the account does not exist', async () => {
  dns.failNext = 'provision';
  const refused = await t.api('POST', '/api/accounts', t.adminToken, { username: 'bob', domain: 'bob.example', password: STRONG });
  assert.equal(refused.status, 500);
  assert.match(String(refused.body.message), /account 'bob' was not created: its dns could not be set up on node 'parent'/);
  assert.deepEqual(
    callsFor('bob').map((c) => `${c.op}:${c.workload}`),
    ['provision:mail', 'provision:web', 'deprovision:web', 'deprovision:mail'],
  );
  assert.equal((await t.api('GET', '/api/accounts/bob', t.adminToken)).status, 404);
  const login = await t.api('POST', '/api/session', undefined, { username: 'bob', password: STRONG });
  assert.equal(login.status, 401, 'no login is left behind');
  // Nothing blocks creating it properly afterwards.
  assert.equal((await t.api('POST', '/api/accounts', t.adminToken, { username: 'bob', domain: 'bob.example', password: STRONG })).status, 201);
});

test('the main domain and the user name are unique across the cluster', async () => {
  const sameDomain = await t.api('POST', '/api/accounts', t.adminToken, { username: 'carol', domain: 'alice.example', password: STRONG });
  assert.equal(sameDomain.status, 409);
  assert.match(String(sameDomain.body.message), /already belongs to account 'alice'/);
  const sameName = await t.api('POST', '/api/accounts', t.adminToken, { username: 'alice', domain: 'other.example', password: STRONG });
  assert.equal(sameName.status, 409);
  const adminName = await t.api('POST', '/api/accounts', t.adminToken, { username: 'admin', domain: 'admin.example', password: STRONG });
  assert.equal(adminName.status, 409, 'the admin login cannot be taken over by an account');
});

test('suspend tells every workload, closes the login, and unsuspend restores both', async () => {
  const token = await t.login('alice', STRONG);
  const suspended = await t.api<AccountView>('POST', '/api/accounts/alice/suspend', t.adminToken);
  assert.equal(suspended.status, 200);
  assert.equal(suspended.body.suspended, true);
  assert.deepEqual(callsFor('alice').filter((c) => c.op === 'suspend').map((c) => c.workload), ['mail', 'web', 'dns']);
  assert.equal((await t.api('GET', '/api/me', token)).status, 403, 'a token issued before suspension stops working');
  const login = await t.api('POST', '/api/session', undefined, { username: 'alice', password: STRONG });
  assert.equal(login.status, 403);
  assert.match(String(login.body.message), /suspended/);

  const restored = await t.api<AccountView>('POST', '/api/accounts/alice/unsuspend', t.adminToken);
  assert.equal(restored.body.suspended, false);
  assert.deepEqual(callsFor('alice').filter((c) => c.op === 'unsuspend').map((c) => c.workload), ['mail', 'web', 'dns']);
  assert.equal((await t.api('GET', '/api/me', token)).status, 200);
});

test('a suspension one workload refuses is undone on the others and the account stays active', async () => {
  web.failNext = 'suspend';
  const refused = await t.api('POST', '/api/accounts/bob/suspend', t.adminToken);
  assert.equal(refused.status, 500);
  assert.deepEqual(callsFor('bob').filter((c) => c.op === 'suspend' || c.op === 'unsuspend').map((c) => `${c.op}:${c.workload}`), ['suspend:mail', 'unsuspend:mail']);
  assert.equal((await t.api<AccountView>('GET', '/api/accounts/bob', t.adminToken)).body.suspended, false);
});

test('modify changes plan and IPv6 and tells the workloads; the password changes the login', async () => {
  assert.equal((await t.api('POST', '/api/plans', t.adminToken, { name: 'gold', diskMb: 20480, mailboxes: 500, domains: 20 })).status, 201);
  const changed = await t.api<AccountView>('PUT', '/api/accounts/bob', t.adminToken, { plan: 'gold', ipv6: true, password: 'glacier-pumpkin-oboe-velvet' });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.equal(changed.body.plan, 'gold');
  assert.equal(changed.body.ipv6, true);
  assert.deepEqual(callsFor('bob').filter((c) => c.op === 'update').map((c) => c.workload), ['mail', 'web', 'dns']);
  assert.equal(dns.lastAccount?.ipv6, true);
  await t.login('bob', 'glacier-pumpkin-oboe-velvet');
  assert.equal((await t.api('POST', '/api/session', undefined, { username: 'bob', password: STRONG })).status, 401);
});

test('an account with its mail on a child cannot turn IPv6 on, and the child cannot be unlinked under it', async () => {
  const created = await t.api<AccountView>('POST', '/api/accounts', t.adminToken, { username: 'dave', domain: 'dave.example', password: STRONG, mailNode: 'mx1' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.mailNode, 'mx1');
  assert.deepEqual(callsFor('dave').filter((c) => c.workload === 'mail'), [{ op: 'provision', workload: 'mail', account: 'dave', node: 'mx1' }]);
  const ipv6 = await t.api('PUT', '/api/accounts/dave', t.adminToken, { ipv6: true });
  assert.equal(ipv6.status, 400);
  assert.equal(ipv6.body.field, 'ipv6');
  const withIpv6 = await t.api('POST', '/api/accounts', t.adminToken, { username: 'erin', domain: 'erin.example', password: STRONG, mailNode: 'mx1', ipv6: true });
  assert.equal(withIpv6.status, 400);

  const unlink = await t.api('POST', '/api/nodes/mx1/unlink', t.adminToken, {});
  assert.equal(unlink.status, 409);
  assert.match(String(unlink.body.message), /dave/);
});

test('terminate removes the account from every node that holds a part of it, or stops and can be run again', async () => {
  mail.failNext = 'deprovision';
  const partial = await t.api('DELETE', '/api/accounts/dave', t.adminToken);
  assert.equal(partial.status, 500);
  assert.match(String(partial.body.message), /only partly terminated: removing its mail from node 'mx1' failed/);
  assert.deepEqual(partial.body.removed, [{ workload: 'dns', node: 'parent' }, { workload: 'web', node: 'parent' }], 'DNS goes first, mail last');
  assert.equal((await t.api('POST', '/api/session', undefined, { username: 'dave', password: STRONG })).status, 403, 'its logins are closed meanwhile');
  assert.equal((await t.api('GET', '/api/accounts/dave', t.adminToken)).status, 200, 'the account is kept until every node let go');

  const done = await t.api<{ removed: { workload: string; node: string }[] }>('DELETE', '/api/accounts/dave', t.adminToken);
  assert.equal(done.status, 200);
  assert.deepEqual(done.body.removed, [{ workload: 'mail', node: 'mx1' }], 'the second run finishes what is left');
  assert.deepEqual(
    callsFor('dave').filter((c) => c.op === 'deprovision').map((c) => `${c.workload}@${c.node}`).sort(),
    ['dns@parent', 'mail@mx1', 'web@parent'],
  );
  assert.equal((await t.api('GET', '/api/accounts/dave', t.adminToken)).status, 404);
  assert.equal((await t.api('POST', '/api/session', undefined, { username: 'dave', password: STRONG })).status, 401);
  // Once no account uses mx1 the usage check lets it go (the unlink then fails only because there is no agent).
  const unlink = await t.api('POST', '/api/nodes/mx1/unlink', t.adminToken, {});
  assert.notEqual(unlink.status, 409);
});

test('no ready node with a role: creation is refused with the reason and nothing is stored', async () => {
  await t.parent.services.db.updateTable('nodes').set({ status: 'offline' }).where('alias', '=', 'parent').execute();
  try {
    const refused = await t.api('POST', '/api/accounts', t.adminToken, { username: 'frank', domain: 'frank.example', password: STRONG });
    assert.equal(refused.status, 503);
    // mx1 could take the mail, but nothing else serves the web.
    assert.match(String(refused.body.message), /no ready node has the web role \(the parent's own node 'parent' is offline\)/);
    assert.equal((await t.api('GET', '/api/accounts/frank', t.adminToken)).status, 404);
  } finally {
    await t.parent.services.db.updateTable('nodes').set({ status: 'ready' }).where('alias', '=', 'parent').execute();
  }
});

test('the CLI creates, lists and shows accounts, reading the password from standard input', async () => {
  const env = { ...process.env, FLEETPANEL_URL: t.url, FLEETPANEL_TOKEN: t.adminToken, FLEETPANEL_CONTEXT: '/nonexistent/context.json' };
  const bin = join(import.meta.dirname, '../../fleetpanel');
  // Asynchronous on purpose: the parent answering the CLI runs in this very process.
  const run = (args: string[], input = ''): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(bin, args, { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
      child.stdin.end(input);
    });
  const created = await run(['--json', 'account', 'create', 'gina', '--domain', 'gina.example', '--password-stdin', '--plan', 'gold'], `${STRONG}\n`);
  assert.equal(created.status, 0, created.stderr);
  assert.equal((JSON.parse(created.stdout) as AccountView).plan, 'gold');
  const listed = await run(['account', 'list']);
  assert.match(listed.stdout, /gina\s+gina\.example\s+gold\s+admin\s+parent\s+active/);
  const weak = await run(['account', 'modify', 'gina', '--password-stdin'], 'gina2024\n');
  assert.equal(weak.status, 2, 'a validation refusal exits 2');
  assert.match(weak.stderr, /password: is too weak/);
  const missing = await run(['account', 'show', 'nobody']);
  assert.equal(missing.status, 5);
  const plan = await run(['plan', 'add', 'silver', '--disk-mb', '1000', '--mailboxes', '5', '--domains', '1']);
  assert.equal(plan.status, 0, plan.stderr);
  assert.match((await run(['plan', 'list'])).stdout, /silver\s+1000\s+5\s+1\s+0/);
});

test('the OpenAPI document describes the account, plan, reseller and password-policy routes', async () => {
  const doc = await t.api<{ paths: Record<string, unknown> }>('GET', '/api/openapi.json');
  assert.equal(doc.status, 200);
  for (const path of ['/api/accounts', '/api/accounts/{username}', '/api/accounts/{username}/suspend', '/api/plans', '/api/resellers/{username}', '/api/password-policy']) {
    assert.ok(doc.body.paths[path], path);
  }
});
