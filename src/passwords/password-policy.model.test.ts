import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MIN_SCORE, PARENT_SCOPE, parseMinScore, parsePasswordKind, resolvePolicy, type PolicySettings } from './password-policy.model.ts';
import { scorePassword } from './password-strength.ts';
import { ValidationError } from '../core/errors.ts';

const CHILD = 7;
const settings: PolicySettings = new Map([
  [PARENT_SCOPE, { account: 2, mail: 1 }],
  [CHILD, { mail: 4, mailinglist: 0, account: 0, ftp: 0 }],
]);

test('the parent decides when the mail is at the parent', () => {
  assert.deepEqual(resolvePolicy(settings, 'mail', null), { kind: 'mail', minScore: 1, source: 'parent', nodeId: null });
  assert.equal(resolvePolicy(settings, 'account', null).minScore, 2);
});

test("a mail child's mail and mailing-list settings apply to the accounts whose mail it holds", () => {
  assert.deepEqual(resolvePolicy(settings, 'mail', CHILD), { kind: 'mail', minScore: 4, source: 'node', nodeId: CHILD });
  assert.equal(resolvePolicy(settings, 'mailinglist', CHILD).minScore, 0);
});

test("a mail child's panel and FTP settings do not apply: those services stay at the parent", () => {
  assert.equal(resolvePolicy(settings, 'account', CHILD).minScore, 2);
  assert.deepEqual(resolvePolicy(settings, 'ftp', CHILD), { kind: 'ftp', minScore: DEFAULT_MIN_SCORE.ftp, source: 'default', nodeId: null });
});

test('a child without its own setting falls back to the parent, then to the default', () => {
  const parentOnly: PolicySettings = new Map([[PARENT_SCOPE, { mailinglist: 1 }]]);
  assert.equal(resolvePolicy(parentOnly, 'mailinglist', CHILD).minScore, 1);
  assert.equal(resolvePolicy(new Map(), 'mail', CHILD).source, 'default');
});

test('kinds and scores are checked strictly', () => {
  assert.equal(parsePasswordKind('ftp'), 'ftp');
  assert.throws(() => parsePasswordKind('root'), ValidationError);
  assert.equal(parseMinScore('4'), 4);
  assert.equal(parseMinScore(0), 0);
  for (const bad of [5, -1, 1.5, '10', '', 'x', null]) assert.throws(() => parseMinScore(bad), ValidationError, String(bad));
});

test('zxcvbn scores guessable passwords low and long random ones high', () => {
  assert.equal(scorePassword('password').score, 0);
  assert.ok(scorePassword('correct horse battery staple').score >= 3);
  assert.ok(scorePassword('alice2024', ['alice']).score <= 2);
  assert.match(scorePassword('password').hint ?? '', /most used/);
});
