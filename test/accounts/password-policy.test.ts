/**
 * Password strength per kind and per node: the parent's settings by default, a mail child's mail
 * and mailing-list settings for the accounts whose mail it holds, and a 400 that names the field
 * and the score needed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestParent, RecordingWorkload, STRONG, WEAK, type TestParent } from './parent-fixture.ts';
import type { NodeRow } from '../../src/nodes/nodes.repository.ts';
import type { PolicyView } from '../../src/passwords/password-policy.service.ts';
import { ValidationError } from '../../src/core/errors.ts';
import { TEST_NET } from '../test-net.ts';

let t: TestParent;
let mx1: NodeRow;
let parentNode: NodeRow;
/** zxcvbn scores: WEAK 0, MEDIUM 2, SCORE_3 3, STRONG 4 */
const MEDIUM = 'orange-cat';
const SCORE_3 = 'tulip-rocket';

before(async () => {
  t = await startTestParent(`${TEST_NET}.32.3`);
  for (const w of ['mail', 'web', 'dns'] as const) t.parent.services.workloads.replace(new RecordingWorkload(w));
  parentNode = await t.addNode('parent', ['mail', 'web', 'dns'], { local: true });
  mx1 = await t.addNode('mx1', ['mail']);
});
after(async () => {
  await t.stop();
});

const refusal = async (promise: Promise<unknown>): Promise<ValidationError> => {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error;
  }
  throw new Error('expected a refusal');
};

test('a fresh cluster asks for score 3 for every kind, from the built-in default', async () => {
  const shown = await t.api<PolicyView>('GET', '/api/password-policy', t.adminToken);
  assert.equal(shown.status, 200);
  assert.deepEqual(shown.body.kinds.map((k) => `${k.kind}:${k.minScore}:${k.from}`), ['account:3:built-in default', 'mail:3:built-in default', 'mailinglist:3:built-in default', 'ftp:3:built-in default', 'database:3:built-in default']);
});

test('a too-weak account password gets 400 naming the field and the score needed, and nothing is stored', async () => {
  const refused = await t.api('POST', '/api/accounts', t.adminToken, { username: 'weakling', domain: 'weakling.example', password: WEAK });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.field, 'password');
  assert.match(String(refused.body.message), /^password: is too weak: it scores 0 of 4 and account \(panel\) passwords need at least 3/);
  assert.equal((await t.api('GET', '/api/accounts/weakling', t.adminToken)).status, 404);
  const userNamePassword = await t.api('POST', '/api/accounts', t.adminToken, { username: 'zebulon', domain: 'zebulon.example', password: 'zebulon.example' });
  assert.equal(userNamePassword.status, 400, 'the user name and domain count as known words');
});

test("the parent's setting per kind applies; lowering one kind leaves the others", async () => {
  const set = await t.api<PolicyView>('PUT', '/api/password-policy', t.adminToken, { kind: 'account', minScore: 1 });
  assert.equal(set.status, 200);
  assert.deepEqual(set.body.kinds.find((k) => k.kind === 'account'), { kind: 'account', minScore: 1, source: 'parent', from: 'parent' });
  assert.equal((await t.api('POST', '/api/accounts', t.adminToken, { username: 'medium', domain: 'medium.example', password: MEDIUM })).status, 201);
  const passwords = t.parent.services.passwords;
  await passwords.assertPasswordStrength('account', MEDIUM);
  const ftp = await refusal(passwords.assertPasswordStrength('ftp', MEDIUM, { field: 'ftpPassword' }));
  assert.equal(ftp.field, 'ftpPassword');
  assert.match(ftp.message, /FTP passwords need at least 3/);
});

test("a mail child's mail and mailing-list settings apply to accounts whose mail it holds; the rest follow the parent", async () => {
  assert.equal((await t.api('PUT', '/api/password-policy', t.adminToken, { node: 'mx1', kind: 'mail', minScore: 4 })).status, 200);
  assert.equal((await t.api('PUT', '/api/password-policy', t.adminToken, { node: 'mx1', kind: 'mailinglist', minScore: 0 })).status, 200);
  assert.equal((await t.api('PUT', '/api/password-policy', t.adminToken, { node: 'mx1', kind: 'ftp', minScore: 0 })).status, 200);
  const shown = await t.api<PolicyView>('GET', '/api/password-policy?node=mx1', t.adminToken);
  assert.equal(shown.body.node, 'mx1');
  assert.deepEqual(shown.body.kinds.map((k) => `${k.kind}:${k.minScore}:${k.from}`), ['account:1:parent', 'mail:4:node mx1', 'mailinglist:0:node mx1', 'ftp:0:node mx1', 'database:3:built-in default']);

  const passwords = t.parent.services.passwords;
  const onChild = { mailNodeId: mx1.id };
  // mail: the child's 4 for its accounts, the parent's 3 for the others
  const strict = await refusal(passwords.assertPasswordStrength('mail', SCORE_3, { ...onChild, field: 'mailboxPassword' }));
  assert.equal(strict.field, 'mailboxPassword');
  assert.match(strict.message, /mail passwords need at least 4/);
  await passwords.assertPasswordStrength('mail', STRONG, onChild);
  await passwords.assertPasswordStrength('mail', SCORE_3);
  await refusal(passwords.assertPasswordStrength('mail', MEDIUM));
  // mailing list: the child's 0 for its accounts, the parent's 3 otherwise
  await passwords.assertPasswordStrength('mailinglist', WEAK, onChild);
  await refusal(passwords.assertPasswordStrength('mailinglist', WEAK, { mailNodeId: null }));
  // FTP stays with the parent even for an account whose mail is on the child
  await refusal(passwords.assertPasswordStrength('ftp', WEAK, onChild));
  // The parent's own node is the parent: its id means the parent's settings.
  await refusal(passwords.assertPasswordStrength('mailinglist', WEAK, { mailNodeId: parentNode.id }));
});

test("--node with the parent's own node sets the parent's settings", async () => {
  const set = await t.api<PolicyView>('PUT', '/api/password-policy', t.adminToken, { node: 'parent', kind: 'ftp', minScore: 2 });
  assert.equal(set.body.node, null);
  assert.equal(set.body.kinds.find((k) => k.kind === 'ftp')?.from, 'parent');
  assert.equal((await t.api<PolicyView>('GET', '/api/password-policy', t.adminToken)).body.kinds.find((k) => k.kind === 'ftp')?.minScore, 2);
});

test('policy settings are checked: kind, score range, node', async () => {
  for (const body of [{ kind: 'root', minScore: 1 }, { kind: 'mail', minScore: 5 }, { kind: 'mail', minScore: -1 }, { kind: 'mail', minScore: 2.5 }, { kind: 'mail' }]) {
    const refused = await t.api('PUT', '/api/password-policy', t.adminToken, body);
    assert.equal(refused.status, 400, JSON.stringify(body));
    assert.ok(refused.body.field, JSON.stringify(refused.body));
  }
  assert.equal((await t.api('PUT', '/api/password-policy', t.adminToken, { node: 'nowhere', kind: 'mail', minScore: 1 })).status, 404);
  assert.equal((await t.api('PUT', '/api/password-policy', t.adminToken, { node: 'bad node', kind: 'mail', minScore: 1 })).status, 400);
});
