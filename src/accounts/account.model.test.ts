import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPlanName, mayAccess, parseQuota } from './account.model.ts';
import { ValidationError } from '../core/errors.ts';

const ownedByRes = { username: 'alice', owner: 'res' };
const ownedByAdmin = { username: 'bob', owner: 'admin' };

test('the admin reaches every account at every level', () => {
  for (const access of ['user', 'owner'] as const) assert.equal(mayAccess({ username: 'admin', role: 'admin' }, ownedByRes, access), true);
});

test("a reseller administers the accounts it owns and no one else's", () => {
  const res = { username: 'res', role: 'reseller' } as const;
  assert.equal(mayAccess(res, ownedByRes, 'owner'), true);
  assert.equal(mayAccess(res, ownedByAdmin, 'user'), false);
  assert.equal(mayAccess(res, ownedByAdmin, 'owner'), false);
});

test('a reseller uses its own account but does not administer it (plan, suspension are the admin\'s)', () => {
  const res = { username: 'res', role: 'reseller' } as const;
  const own = { username: 'res', owner: 'admin' };
  assert.equal(mayAccess(res, own, 'user'), true);
  assert.equal(mayAccess(res, own, 'owner'), false);
});

test('a user uses only its own account and administers none', () => {
  const alice = { username: 'alice', role: 'user' } as const;
  assert.equal(mayAccess(alice, ownedByRes, 'user'), true);
  assert.equal(mayAccess(alice, ownedByRes, 'owner'), false);
  assert.equal(mayAccess(alice, ownedByAdmin, 'user'), false);
});

test('plan names and quotas are strict', () => {
  assert.equal(checkPlanName('gold-2'), null);
  for (const bad of ['', 'Gold', '1gold', 'a b', 'a;b', '../x', 'x'.repeat(33)]) assert.notEqual(checkPlanName(bad), null, bad);
  assert.equal(parseQuota('diskMb', '1024'), 1024);
  for (const bad of [-1, 1.5, '1e3', 'ten', 10_000_001]) assert.throws(() => parseQuota('diskMb', bad), ValidationError, String(bad));
});
