import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveProfileAndRoles, assertProfileAllowed, parseProfile, parseRoles } from './node.model.ts';
import { FleetError } from '../core/errors.ts';

test('roles alone choose the narrowest profile', () => {
  assert.deepEqual(resolveProfileAndRoles(undefined, ['mail']), { profile: 'MAIL', roles: ['mail'] });
  assert.deepEqual(resolveProfileAndRoles(undefined, ['mail', 'web']), { profile: 'STANDARD', roles: ['mail', 'web'] });
  assert.deepEqual(resolveProfileAndRoles('DNS', undefined), { profile: 'DNS', roles: ['dns'] });
});

test('a profile refuses roles it cannot serve', () => {
  assert.throws(() => resolveProfileAndRoles('MAIL', ['web']), /profile MAIL cannot serve web/);
});

test('the parent node keeps the STANDARD profile', () => {
  assert.throws(() => assertProfileAllowed(true, 'MAIL'), (e: FleetError) => e.kind === 'conflict');
  assertProfileAllowed(false, 'MAIL');
  assertProfileAllowed(true, 'STANDARD');
});

test('profiles and roles are parsed strictly', () => {
  assert.equal(parseProfile('mail'), 'MAIL');
  assert.throws(() => parseProfile('MAILX'), /profile: must be one of/);
  assert.throws(() => parseRoles(['mail', 'smtp']), /'smtp' is not one of/);
});
