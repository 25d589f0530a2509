import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, NodeUnavailableError } from '../core/errors.ts';
import { DistributedQueryError, runDistributedQuery } from './distributed-query.ts';
import type { SysdataNode } from './targets.ts';
import type { FirewallRule } from '../protocol/sysdata-items.ts';

const node = (alias: string, status = 'ready'): SysdataNode => ({ id: `id-${alias}`, alias, status, roles: [] });
const before: FirewallRule[] = [{ id: 'old', action: 'deny', protocol: 'tcp', port: 25, source: '0.0.0.0/0' }];
const after: FirewallRule[] = [...before, { id: 'new', action: 'deny', protocol: 'udp', port: 53, source: '192.0.2.0/24' }];

/** A fake fleet: each node's list, and a log of what was called on which node. */
function fakeFleet(failOn: Set<string> = new Set(), failUndoOn: Set<string> = new Set()) {
  const lists = new Map<string, readonly FirewallRule[]>();
  const calls: string[] = [];
  return {
    lists,
    calls,
    async apply(target: SysdataNode, list: readonly FirewallRule[]) {
      calls.push(`apply ${target.alias}`);
      // Let every apply start before any finishes, as real parallel requests do.
      await new Promise((r) => setTimeout(r, failOn.has(target.alias) ? 5 : 1));
      if (failOn.has(target.alias)) throw new NodeUnavailableError(target.alias, 'connection refused');
      lists.set(target.alias, list);
    },
    async undo(target: SysdataNode, list: readonly FirewallRule[]) {
      calls.push(`undo ${target.alias}`);
      if (failUndoOn.has(target.alias)) throw new Error('still unreachable');
      lists.set(target.alias, list);
    },
  };
}

test('all ready targets get the new list; the node that was not ready is returned for a de-sync', async () => {
  const fleet = fakeFleet();
  const targets = [node('a'), node('b'), node('c', 'offline')];
  const result = await runDistributedQuery({ type: 'firewall', change: { before, after }, targets, policy: 50, apply: fleet.apply, undo: fleet.undo });
  assert.deepEqual(result.applied.map((n) => n.alias), ['a', 'b']);
  assert.deepEqual(result.desynced.map((n) => n.alias), ['c']);
  assert.deepEqual(fleet.lists.get('a'), after);
  assert.deepEqual(fleet.lists.get('b'), after);
  assert.equal(fleet.lists.has('c'), false);
  assert.ok(!fleet.calls.some((c) => c.startsWith('undo')));
});

test('a failure in the middle undoes the change on every node where it was applied and names the failing node', async () => {
  const fleet = fakeFleet(new Set(['b']));
  const targets = [node('a'), node('b'), node('c')];
  await assert.rejects(
    runDistributedQuery({ type: 'firewall', change: { before, after }, targets, policy: 50, apply: fleet.apply, undo: fleet.undo }),
    (error: unknown) => {
      assert.ok(error instanceof DistributedQueryError);
      assert.match(error.message, /failed on b: node 'b' is unavailable: connection refused/);
      assert.deepEqual(error.failures, [{ node: 'b', error: "node 'b' is unavailable: connection refused" }]);
      assert.deepEqual(error.undoFailures, []);
      // The node's own error kind carries through to the HTTP status.
      assert.equal(error.kind, 'node_unavailable');
      return true;
    },
  );
  assert.deepEqual(fleet.lists.get('a'), before);
  assert.deepEqual(fleet.lists.get('c'), before);
  assert.ok(fleet.calls.includes('undo a') && fleet.calls.includes('undo c'));
  // Every apply ran before the first undo: the undo waits for all applies to settle.
  const firstUndo = fleet.calls.findIndex((c) => c.startsWith('undo'));
  assert.equal(fleet.calls.slice(0, firstUndo).length, 3);
});

test('an undo that fails too is reported, so the caller registers a de-sync for that node', async () => {
  const fleet = fakeFleet(new Set(['b']), new Set(['c']));
  await assert.rejects(
    runDistributedQuery({ type: 'firewall', change: { before, after }, targets: [node('a'), node('b'), node('c')], policy: 0, apply: fleet.apply, undo: fleet.undo }),
    (error: unknown) => error instanceof DistributedQueryError && error.undoFailures.some((f) => f.node === 'c' && /still unreachable/.test(f.error)) && /undo also failed on c/.test(error.message),
  );
});

test('readiness is checked before anything is sent', async () => {
  const fleet = fakeFleet();
  await assert.rejects(
    runDistributedQuery({ type: 'firewall', change: { before, after }, targets: [node('a'), node('b', 'offline'), node('c')], policy: { firewall: 80 }, apply: fleet.apply, undo: fleet.undo }),
    ConflictError,
  );
  assert.deepEqual(fleet.calls, []);
});
