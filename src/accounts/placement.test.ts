import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseNode, type PlacementCandidate } from './placement.ts';
import { FleetError, ValidationError } from '../core/errors.ts';

const parent: PlacementCandidate = { id: 1, alias: 'parent', roles: ['mail', 'web', 'dns'], status: 'ready', local: true };
const mailChild: PlacementCandidate = { id: 2, alias: 'mx1', roles: ['mail'], status: 'ready', local: false };
const webChild: PlacementCandidate = { id: 3, alias: 'web1', roles: ['web'], status: 'ready', local: false };

test("the parent's own node is the default for every workload", () => {
  for (const workload of ['mail', 'web', 'dns'] as const) assert.equal(chooseNode(workload, [mailChild, parent, webChild]).alias, 'parent');
});

test("another ready node with the role serves when the parent's own cannot", () => {
  const webOnlyParent = { ...parent, roles: ['web', 'dns'] as const };
  assert.equal(chooseNode('mail', [webOnlyParent, mailChild]).alias, 'mx1');
  assert.equal(chooseNode('web', [{ ...parent, status: 'offline' }, webChild]).alias, 'web1');
});

test('no ready node with the role is a clear refusal', () => {
  assert.throws(
    () => chooseNode('dns', [{ ...parent, status: 'software_sync' }, mailChild]),
    (error: FleetError) => error.kind === 'node_unavailable' && /no ready node has the dns role.*software_sync/.test(error.message),
  );
  assert.throws(() => chooseNode('mail', []), /the parent has no node of its own/);
});

test('a requested node must have the role and be ready (or adopted, waiting for its accounts)', () => {
  assert.equal(chooseNode('mail', [parent, mailChild], mailChild).alias, 'mx1');
  assert.equal(chooseNode('mail', [parent], { ...mailChild, status: 'adopting' }).alias, 'mx1');
  assert.equal(chooseNode('mail', [parent, { ...mailChild, status: 'adopting' }]).alias, 'parent', 'never chosen unless named');
  assert.throws(() => chooseNode('mail', [parent, webChild], webChild), ValidationError);
  assert.throws(() => chooseNode('mail', [parent], { ...mailChild, status: 'offline' }), (e: FleetError) => e.kind === 'node_unavailable');
});
