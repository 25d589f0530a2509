import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, ValidationError } from '../core/errors.ts';
import { checkReadiness, validateReadinessPercent } from './readiness.ts';
import { targetsOf, type SysdataNode } from './targets.ts';

const node = (alias: string, status = 'ready', roles: string[] = []): SysdataNode => ({ id: `id-${alias}`, alias, status, roles: roles.map((name) => ({ name, active: true })) });

test('at 80%, one of three nodes down refuses and names the node that is not ready', () => {
  const targets = [node('alpha'), node('beta', 'offline'), node('gamma')];
  assert.throws(
    () => checkReadiness('firewall', targets, { firewall: 80 }),
    (error: unknown) => {
      assert.ok(error instanceof ConflictError);
      assert.match(error.message, /beta \(offline\)/);
      assert.doesNotMatch(error.message, /alpha|gamma/);
      assert.deepEqual(error.details.notReady, ['beta']);
      return true;
    },
  );
});

test('at the default 50%, two of three ready passes and reports the skipped node', () => {
  const targets = [node('alpha'), node('beta', 'installing'), node('gamma')];
  const decision = checkReadiness('scheduler', targets, undefined);
  assert.deepEqual(decision.ready.map((n) => n.alias), ['alpha', 'gamma']);
  assert.deepEqual(decision.notReady.map((n) => n.alias), ['beta']);
});

test('the share must exceed the policy, not merely reach it', () => {
  const halfReady = [node('a'), node('b', 'offline')];
  assert.throws(() => checkReadiness('whitelist', halfReady, 50), ConflictError);
  assert.equal(checkReadiness('whitelist', halfReady, 49).ready.length, 1);
  // The policy is per type: a stricter firewall policy leaves the blacklist alone.
  assert.equal(checkReadiness('blacklist', halfReady, { firewall: 90, blacklist: 10 }).ready.length, 1);
});

test('no target at all is not a refusal', () => {
  assert.deepEqual(checkReadiness('blacklist', [], 80), { ready: [], notReady: [], readyPercent: 100 });
});

test('the policy value is a whole percentage below 100', () => {
  assert.equal(validateReadinessPercent(80), 80);
  for (const bad of [100, -1, 50.5, '50']) assert.throws(() => validateReadinessPercent(bad), ValidationError);
});

test('firewall and scheduler concern every node, the mail lists only active mail nodes', () => {
  const web = node('web', 'ready', ['web']);
  const mail = node('mail', 'ready', ['mail']);
  const mailInstalling: SysdataNode = { ...node('mail2'), roles: [{ name: 'mail', active: false }] };
  const nodes = [web, mail, mailInstalling];
  assert.deepEqual(targetsOf('firewall', nodes), nodes);
  assert.deepEqual(targetsOf('scheduler', nodes), nodes);
  assert.deepEqual(targetsOf('whitelist', nodes), [mail]);
  assert.deepEqual(targetsOf('blacklist', nodes), [mail]);
});

test('a degraded node (some of its services down) counts as not ready', () => {
  const nodes = [
    { id: '1', alias: 'a', status: 'ready', roles: [] },
    { id: '2', alias: 'b', status: 'degraded', roles: [] },
  ];
  const decision = checkReadiness('firewall', nodes, 49);
  assert.deepEqual(decision.notReady.map((n) => n.alias), ['b']);
  assert.throws(() => checkReadiness('firewall', nodes, 50), /not ready: b \(degraded\)/);
});
