/**
 * Who may do what: the 401/403 matrix, reseller isolation and limits, user isolation, and the
 * inheritance of a reseller's mail node by its new accounts. Every refusal is checked to have
 * changed nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestParent, RecordingWorkload, STRONG, type TestParent, type WorkloadCall } from './parent-fixture.ts';
import type { AccountView } from '../../src/accounts/account.model.ts';
import { TEST_NET } from '../test-net.ts';

let t: TestParent;
const journal: WorkloadCall[] = [];
const tokens: Record<string, string> = {};
const snapshot = async () => (await t.api<{ accounts: AccountView[] }>('GET', '/api/accounts', t.adminToken)).body.accounts;
const create = (token: string, username: string, extra: Record<string, unknown> = {}) =>
  t.api<AccountView & { message?: string }>('POST', '/api/accounts', token, { username, domain: `${username}.example`, password: STRONG, ...extra });

before(async () => {
  t = await startTestParent(`${TEST_NET}.32.2`);
  for (const w of ['mail', 'web', 'dns'] as const) t.parent.services.workloads.replace(new RecordingWorkload(w, journal));
  await t.addNode('parent', ['mail', 'web', 'dns'], { local: true });
  await t.addNode('mx1', ['mail']);
  // Two resellers (one with its mail on mx1, limited to 2 accounts), each with a customer, and an admin-owned user.
  for (const [name, extra] of [['resa', {}], ['resb', { mailNode: 'mx1' }], ['uadmin', {}]] as const) assert.equal((await create(t.adminToken, name, extra)).status, 201);
  assert.equal((await t.api('PUT', '/api/resellers/resa', t.adminToken, {})).status, 200);
  assert.equal((await t.api('PUT', '/api/resellers/resb', t.adminToken, { maxAccounts: 2 })).status, 200);
  tokens.resa = await t.login('resa', STRONG);
  tokens.resb = await t.login('resb', STRONG);
  assert.equal((await create(tokens.resa!, 'cusa')).status, 201);
  assert.equal((await create(tokens.resb!, 'cusb')).status, 201);
  tokens.cusa = await t.login('cusa', STRONG);
  tokens.cusb = await t.login('cusb', STRONG);
  tokens.uadmin = await t.login('uadmin', STRONG);
});
after(async () => {
  await t.stop();
});

test('no token, an unknown token, an expired token and a wrong password get 401 with a message', async () => {
  const noToken = await t.api('GET', '/api/accounts');
  assert.equal(noToken.status, 401);
  assert.match(String(noToken.body.message), /log in first/);
  const unknown = await t.api('GET', '/api/accounts', 'fp_not-a-real-token');
  assert.equal(unknown.status, 401);
  assert.match(String(unknown.body.message), /not valid/);
  const expired = await t.parent.services.auth.issueToken('cusa', 'test', -1000);
  const late = await t.api('GET', '/api/accounts', expired.token);
  assert.equal(late.status, 401);
  assert.match(String(late.body.message), /expired/);
  const wrong = await t.api('POST', '/api/session', undefined, { username: 'cusa', password: 'not-the-password-at-all' });
  assert.equal(wrong.status, 401);
  const nobody = await t.api('POST', '/api/session', undefined, { username: 'ghost', password: STRONG });
  assert.deepEqual(nobody.body, wrong.body, 'an unknown user reads exactly like a wrong password');
  const before = await snapshot();
  assert.equal((await t.api('DELETE', '/api/accounts/cusa', expired.token)).status, 401);
  assert.equal((await t.api('POST', '/api/accounts', undefined, { username: 'sneaky', domain: 'sneaky.example', password: STRONG })).status, 401);
  assert.deepEqual(await snapshot(), before);
});

test('logging out revokes exactly the token it carries; a revoked or absent token cannot log out', async () => {
  const first = await t.login('uadmin', STRONG);
  const second = await t.login('uadmin', STRONG);
  const out = await t.api('DELETE', '/api/session', first);
  assert.equal(out.status, 204);
  assert.deepEqual(out.body, {}, 'no body');
  const refused = await t.api('GET', '/api/me', first);
  assert.equal(refused.status, 401);
  assert.match(String(refused.body.message), /revoked/);
  assert.equal((await t.api('DELETE', '/api/session', first)).status, 401, 'a revoked token cannot log out again');
  assert.equal((await t.api('DELETE', '/api/session')).status, 401, 'nor can no token');
  const other = await t.api<{ username: string }>('GET', '/api/me', second);
  assert.equal(other.status, 200, "the user's other session goes on");
  assert.equal(other.body.username, 'uadmin');
});

test('the 403 matrix: each role reaches only what is its own', async () => {
  const before = await snapshot();
  const journalBefore = journal.length;
  const cases: [who: string, method: string, path: string, body?: unknown][] = [
    // a user cannot reach another account, nor administer its own
    ['cusa', 'GET', '/api/accounts/cusb'],
    ['cusa', 'GET', '/api/accounts/uadmin'],
    ['cusa', 'PUT', '/api/accounts/cusb', { password: 'another-strong-pass-phrase-77' }],
    ['cusa', 'POST', '/api/accounts/cusa/suspend'],
    ['cusa', 'PUT', '/api/accounts/cusa', { plan: 'default' }],
    ['cusa', 'DELETE', '/api/accounts/cusa'],
    ['cusa', 'POST', '/api/accounts', { username: 'newone', domain: 'newone.example', password: STRONG }],
    ['cusa', 'GET', '/api/plans'],
    ['cusa', 'GET', '/api/resellers/resa'],
    ['cusa', 'PUT', '/api/password-policy', { kind: 'mail', minScore: 0 }],
    // a reseller cannot reach another reseller's customers, the admin's accounts, nor administer itself
    ['resa', 'GET', '/api/accounts/cusb'],
    ['resa', 'PUT', '/api/accounts/cusb', { password: 'another-strong-pass-phrase-77' }],
    ['resa', 'POST', '/api/accounts/cusb/suspend'],
    ['resa', 'DELETE', '/api/accounts/cusb'],
    ['resa', 'DELETE', '/api/accounts/uadmin'],
    ['resa', 'POST', '/api/accounts/resa/suspend'],
    ['resa', 'PUT', '/api/accounts/resa', { plan: 'default' }],
    ['resa', 'PUT', '/api/accounts/cusa', { owner: 'resb' }],
    ['resa', 'POST', '/api/accounts', { username: 'stolen', domain: 'stolen.example', password: STRONG, owner: 'resb' }],
    ['resa', 'PUT', '/api/resellers/resa', { maxAccounts: 1000 }],
    ['resa', 'PUT', '/api/resellers/cusa', {}],
    ['resa', 'GET', '/api/resellers'],
    ['resa', 'GET', '/api/resellers/resb'],
    ['resa', 'POST', '/api/plans', { name: 'free', diskMb: 1, mailboxes: 1, domains: 1 }],
    ['resa', 'GET', '/api/nodes'],
    // reaching for an account that does not exist reads the same as one that is not yours
    ['resa', 'GET', '/api/accounts/ghost'],
  ];
  for (const [who, method, path, body] of cases) {
    const result = await t.api(method, path, tokens[who], body);
    assert.equal(result.status, 403, `${who} ${method} ${path}: ${JSON.stringify(result.body)}`);
    assert.ok(String(result.body.message).length > 10, `${who} ${method} ${path} says why`);
  }
  assert.deepEqual(await snapshot(), before, 'no refusal changed an account');
  assert.equal(journal.length, journalBefore, 'no refusal reached a workload');
  const missing = await t.api('GET', '/api/accounts/ghost', t.adminToken);
  assert.equal(missing.status, 404, 'the admin is told plainly that it does not exist');
});

test('each sees only its own: the admin all, a reseller itself and its customers, a user itself', async () => {
  const names = async (who: string) => (await t.api<{ accounts: AccountView[] }>('GET', '/api/accounts', tokens[who])).body.accounts.map((a) => a.username);
  assert.deepEqual(await names('resa'), ['cusa', 'resa']);
  assert.deepEqual(await names('resb'), ['cusb', 'resb']);
  assert.deepEqual(await names('cusa'), ['cusa']);
  assert.deepEqual(await names('uadmin'), ['uadmin']);
  const all = (await snapshot()).map((a) => a.username);
  assert.deepEqual(all, ['cusa', 'cusb', 'resa', 'resb', 'uadmin']);
});

test('what is allowed: a user changes its own password, a reseller administers its customer', async () => {
  const newPassword = 'orchid-submarine-cobalt-lemon';
  assert.equal((await t.api('PUT', '/api/accounts/cusa', tokens.cusa, { password: newPassword })).status, 200);
  await t.login('cusa', newPassword);
  const suspended = await t.api<AccountView>('POST', '/api/accounts/cusa/suspend', tokens.resa);
  assert.equal(suspended.status, 200);
  assert.equal(suspended.body.suspended, true);
  assert.equal((await t.api('POST', '/api/accounts/cusa/unsuspend', tokens.resa)).status, 200);
  const shown = await t.api<{ username: string; accounts: number }>('GET', '/api/resellers/resa', tokens.resa);
  assert.equal(shown.body.accounts, 1);
});

test("a reseller's accounts record it as owner and inherit its mail node unless told otherwise", async () => {
  const cusb = await t.api<AccountView>('GET', '/api/accounts/cusb', tokens.resb);
  assert.equal(cusb.body.owner, 'resb');
  assert.equal(cusb.body.mailNode, 'mx1', "resb's mail is on mx1, so its new account's is too");
  assert.deepEqual(cusb.body.placements.find((p) => p.workload === 'mail'), { workload: 'mail', node: 'mx1' });
  const cusa = await t.api<AccountView>('GET', '/api/accounts/cusa', tokens.resa);
  assert.equal(cusa.body.owner, 'resa');
  assert.equal(cusa.body.mailNode, null);
  const chosen = await create(tokens.resb!, 'cusb2', { mailNode: 'local' });
  assert.equal(chosen.status, 403, 'a reseller does not choose where mail lives');
  const local = await create(t.adminToken, 'cusb2', { owner: 'resb', mailNode: 'local' });
  assert.equal(local.status, 201, JSON.stringify(local.body));
  assert.equal(local.body.owner, 'resb');
  assert.equal(local.body.mailNode, null, "the admin's 'local' keeps the mail at the parent");
});

test('a reseller creates accounts only within its limit', async () => {
  // resb owns cusb and cusb2: its limit of 2 is reached.
  const before = await snapshot();
  const refused = await create(tokens.resb!, 'cusb3');
  assert.equal(refused.status, 403);
  assert.match(String(refused.body.message), /may own at most 2 account\(s\) and owns 2/);
  assert.deepEqual(await snapshot(), before);
  // Nor can the admin push it over its limit by giving it an account.
  const given = await t.api('PUT', '/api/accounts/uadmin', t.adminToken, { owner: 'resb' });
  assert.equal(given.status, 403);
  // Raising the limit lets it create again.
  assert.equal((await t.api('PUT', '/api/resellers/resb', t.adminToken, { maxAccounts: 3 })).status, 200);
  assert.equal((await create(tokens.resb!, 'cusb3')).status, 201);
});

test('withdrawing reseller privileges needs the reseller to own no accounts, then its login becomes a user', async () => {
  const refused = await t.api('DELETE', '/api/resellers/resa', t.adminToken);
  assert.equal(refused.status, 409);
  assert.match(String(refused.body.message), /still owns 1 account\(s\): cusa/);
  assert.equal((await t.api('PUT', '/api/accounts/cusa', t.adminToken, { owner: 'admin' })).status, 200);
  assert.equal((await t.api('DELETE', '/api/resellers/resa', t.adminToken)).status, 200);
  const me = await t.api<{ role: string }>('GET', '/api/me', tokens.resa);
  assert.equal(me.body.role, 'user');
  assert.equal((await create(tokens.resa!, 'cusa2')).status, 403);
  // A reseller's customer cannot become a reseller itself: one level of resale.
  const nested = await t.api('PUT', '/api/resellers/cusb', t.adminToken, {});
  assert.equal(nested.status, 409);
});
