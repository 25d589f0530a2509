/**
 * The bad-input table: every value that could end up in a daemon's config or a path, sent in
 * every field of the account, plan and reseller APIs, is refused with a 400 naming the field,
 * and nothing is stored or pushed to a workload.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestParent, RecordingWorkload, STRONG, type TestParent, type WorkloadCall } from './parent-fixture.ts';
import { ValidationError } from '../../src/core/errors.ts';
import { TEST_NET } from '../test-net.ts';

const BAD_VALUES: Record<string, string> = {
  newline: 'evil\nexample',
  'carriage return': 'evil\rexample',
  'double quote': 'ev"il',
  'single quote': "ev'il",
  semicolon: 'evil;reload',
  braces: 'evil{}',
  'closing brace and semicolon': 'evil.example; }',
  space: 'evil example',
  tab: 'evil\texample',
  NUL: 'evil\u0000x',
  '64-character label': `${'a'.repeat(64)}.example`,
  '254-character domain': `${Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.')}.ab`,
  'path traversal': '../../etc/passwd',
  'dot-dot label': 'evil..example',
  'unicode look-alike (Cyrillic a)': 'ex\u0430mple.com',
  'unicode look-alike (fullwidth)': '\uff45vil',
  'upper case': 'Evil',
  empty: '',
};

let t: TestParent;
const journal: WorkloadCall[] = [];

before(async () => {
  t = await startTestParent(`${TEST_NET}.32.4`);
  for (const w of ['mail', 'web', 'dns'] as const) t.parent.services.workloads.replace(new RecordingWorkload(w, journal));
  await t.addNode('parent', ['mail', 'web', 'dns'], { local: true });
  assert.equal((await t.api('POST', '/api/accounts', t.adminToken, { username: 'alice', domain: 'alice.example', password: STRONG })).status, 201);
  assert.equal((await t.api('PUT', '/api/resellers/alice', t.adminToken, {})).status, 200);
});
after(async () => {
  await t.stop();
});

/** What could change: accounts, plans, resellers, logins, and the calls made to workloads. */
async function state(): Promise<string> {
  const db = t.parent.services.db;
  return JSON.stringify({
    accounts: await db.selectFrom('accounts').selectAll().orderBy('id').execute(),
    plans: await db.selectFrom('plans').selectAll().orderBy('id').execute(),
    resellers: await db.selectFrom('resellers').selectAll().execute(),
    users: await db.selectFrom('users').select(['username', 'role', 'owner', 'password_hash', 'suspended']).orderBy('id').execute(),
    placements: await db.selectFrom('workload_placements').selectAll().execute(),
    workloadCalls: journal.length,
  });
}

type Request = { method: string; path: (bad: string) => string; body: (bad: string) => unknown; field: string };

const good = { username: 'bob', domain: 'bob.example', password: STRONG };
const REQUESTS: Record<string, Request> = {
  'create: username': { method: 'POST', path: () => '/api/accounts', body: (bad) => ({ ...good, username: bad }), field: 'username' },
  'create: domain': { method: 'POST', path: () => '/api/accounts', body: (bad) => ({ ...good, domain: bad }), field: 'domain' },
  'create: owner': { method: 'POST', path: () => '/api/accounts', body: (bad) => ({ ...good, owner: bad }), field: 'owner' },
  'create: plan': { method: 'POST', path: () => '/api/accounts', body: (bad) => ({ ...good, plan: bad }), field: 'plan' },
  'create: mail node': { method: 'POST', path: () => '/api/accounts', body: (bad) => ({ ...good, mailNode: bad }), field: 'mailNode' },
  'modify: plan': { method: 'PUT', path: () => '/api/accounts/alice', body: (bad) => ({ plan: bad }), field: 'plan' },
  'modify: owner': { method: 'PUT', path: () => '/api/accounts/alice', body: (bad) => ({ owner: bad }), field: 'owner' },
  'modify: account in the path': { method: 'PUT', path: (bad) => `/api/accounts/${encodeURIComponent(bad)}`, body: () => ({ plan: 'default' }), field: 'username' },
  'suspend: account in the path': { method: 'POST', path: (bad) => `/api/accounts/${encodeURIComponent(bad)}/suspend`, body: () => ({}), field: 'username' },
  'terminate: account in the path': { method: 'DELETE', path: (bad) => `/api/accounts/${encodeURIComponent(bad)}`, body: () => undefined, field: 'username' },
  'plan add: name': { method: 'POST', path: () => '/api/plans', body: (bad) => ({ name: bad, diskMb: 1, mailboxes: 1, domains: 1 }), field: 'name' },
  'reseller grant: account in the path': { method: 'PUT', path: (bad) => `/api/resellers/${encodeURIComponent(bad)}`, body: () => ({}), field: 'username' },
  'password policy: node': { method: 'PUT', path: () => '/api/password-policy', body: (bad) => ({ node: bad, kind: 'mail', minScore: 1 }), field: 'node' },
};

// Values that are fine in some fields (a path with slashes is not a user name, but 'Evil' is a valid node alias).
const ACCEPTABLE: Record<string, string[]> = { 'password policy: node': ['upper case'] };

test('every bad value in every field is refused with a 400 naming the field, and nothing changes', async () => {
  const before = await state();
  let checked = 0;
  for (const [requestName, request] of Object.entries(REQUESTS)) {
    for (const [valueName, bad] of Object.entries(BAD_VALUES)) {
      if (ACCEPTABLE[requestName]?.includes(valueName)) continue;
      const path = request.path(bad);
      // An empty or traversing path segment never reaches the account routes: the router refuses it.
      const result = await t.api(request.method, path, t.adminToken, request.body(bad));
      const label = `${requestName} with ${valueName}: ${result.status} ${JSON.stringify(result.body)}`;
      if (path.includes('/accounts/') && (bad === '' || bad.includes('/'))) {
        assert.ok(result.status === 404 || result.status === 400, label);
        continue;
      }
      assert.equal(result.status, 400, label);
      assert.equal(result.body.field, request.field, label);
      assert.match(String(result.body.message), new RegExp(`^${request.field}: `), label);
      checked++;
    }
  }
  assert.ok(checked > 150, `checked ${checked} combinations`);
  assert.equal(await state(), before, 'nothing was stored, changed or pushed');
});

test('the services check the grammars themselves too, for callers that do not come through HTTP', async () => {
  const before = await state();
  const admin = { username: 'admin', role: 'admin' } as const;
  for (const [valueName, bad] of Object.entries(BAD_VALUES)) {
    for (const [field, input] of [
      ['username', { ...good, username: bad }],
      ['domain', { ...good, domain: bad }],
    ] as const) {
      await assert.rejects(t.parent.services.accounts.create(admin, input), (error: unknown) => error instanceof ValidationError && error.field === field, `${field} with ${valueName}`);
    }
    if (valueName !== 'upper case') {
      await assert.rejects(t.parent.services.plans.add({ name: bad, diskMb: 1, mailboxes: 1, domains: 1 }), ValidationError, `plan name with ${valueName}`);
    }
  }
  await assert.rejects(t.parent.services.accounts.create(admin, { ...good, username: 'a'.repeat(17) }), /username: must start with a lower-case letter/);
  await assert.rejects(t.parent.services.accounts.create(admin, { ...good, username: '1abc' }), ValidationError);
  assert.equal(await state(), before);
});

test('quotas and limits out of range are refused with the field named', async () => {
  const before = await state();
  for (const [body, field] of [
    [{ name: 'big', diskMb: -1, mailboxes: 1, domains: 1 }, 'diskMb'],
    [{ name: 'big', diskMb: 1, mailboxes: 1.5, domains: 1 }, 'mailboxes'],
    [{ name: 'big', diskMb: 1, mailboxes: 1, domains: 'many' }, 'domains'],
    [{ name: 'big', diskMb: 1, mailboxes: 1 }, 'domains'],
    [{ name: 'big', diskMb: 1, mailboxes: 1, domains: 1, extra: 'x' }, 'extra'],
  ] as const) {
    const result = await t.api('POST', '/api/plans', t.adminToken, body);
    assert.equal(result.status, 400, JSON.stringify(result.body));
    assert.equal(result.body.field, field);
  }
  const limit = await t.api('PUT', '/api/resellers/alice', t.adminToken, { maxAccounts: -3 });
  assert.equal(limit.status, 400);
  assert.equal(limit.body.field, 'maxAccounts');
  assert.equal(await state(), before);
});

test("an account's domain longer than 200 characters, though a valid domain, is refused: www. and the files named after it would not fit", async () => {
  const before = await state();
  const long = `${Array.from({ length: 3 }, () => 'a'.repeat(63)).join('.')}.abcdefghij.example`;
  assert.ok(long.length > 200 && long.length <= 253);
  const result = await t.api('POST', '/api/accounts', t.adminToken, { ...good, domain: long });
  assert.equal(result.status, 400);
  assert.equal(result.body.field, 'domain');
  assert.match(String(result.body.message), /^domain: must be at most 200 characters for an account/);
  await assert.rejects(t.parent.services.accounts.create({ username: 'admin', role: 'admin' }, { ...good, domain: long }), /domain: must be at most 200 characters/);
  assert.equal(await state(), before);
});
