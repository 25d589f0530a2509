/**
 * The re-parent's rules about databases, asked of Reparenting with this parent's store and the new
 * parent faked: databases on this pair's database node move with the account (the new parent is
 * asked whether it has a database node), databases on the moving child refuse, and an account is
 * let go only once the new parent has it with every database the same.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FleetError } from '../../src/core/errors.ts';
import type { AccountRecord } from '../../src/accounts/account.model.ts';
import type { NodeRow } from '../../src/nodes/nodes.repository.ts';
import type { DatabaseMoves } from '../../src/transfers/database-moves.ts';
import type { NewParentClient } from '../../src/reparent/new-parent.client.ts';
import { Reparenting, type ReparentDeps, type ReparentRoute } from '../../src/reparent/reparenting.ts';

const node = (id: number, alias: string, local = false): NodeRow => ({ id, alias, host: `192.0.2.${id}`, is_local: local ? 1 : 0, status: 'ready', roles: ['mail'] }) as unknown as NodeRow;
const PARENT_NODE = node(1, 'old', true);
const KID = node(2, 'kid');
const account = (id: number, username: string): AccountRecord => ({ id, username, domain: `${username}.test` }) as AccountRecord;
const ACCOUNTS = [account(10, 'ralpha'), account(11, 'rbeta')];

/** Reparenting over a store where each account's databases are on the given node (or none). */
function reparenting(databasesOn: Record<string, NodeRow | undefined>): Reparenting {
  const databases: Pick<DatabaseMoves, 'sourceOf'> = {
    sourceOf: async (a) => (databasesOn[a.username] ? { node: databasesOn[a.username]!, names: [`${a.username}_data`] } : undefined),
  };
  const deps: Partial<ReparentDeps> = {
    parentId: Promise.resolve('old-id'),
    usersOf: async () => ACCOUNTS.map((a) => a.username),
    busy: async () => undefined,
    installedBySsh: async () => false,
    accountByName: async (username) => ACCOUNTS.find((a) => a.username === username),
    placements: async () => [{ workload: 'mail', nodeId: KID.id }],
    databases: databases as DatabaseMoves,
  };
  return new Reparenting(deps as ReparentDeps);
}

/** The new parent, recording what it was asked. */
function newParent(): { client: NewParentClient; checks: string[] } {
  const checks: string[] = [];
  const client = {
    url: 'http://198.51.100.1:8080',
    identity: async () => ({ parentId: 'new-id', name: 'new' }),
    nodeView: async () => null,
    check: async (username: string, domain: string, mailNode?: string, withDatabases = false) => {
      checks.push(`${username} ${domain} ${mailNode ?? '-'} databases=${withDatabases}`);
      return { parent: 'new', mailNode: 'new', mailAddress: '198.51.100.1' };
    },
  };
  return { client: client as unknown as NewParentClient, checks };
}

for (const route of ['handover', 'dedistribution'] as ReparentRoute[]) {
  describe(`re-parent preflight (${route}): databases`, () => {
    test("databases on this pair's database node move: the new parent is asked for a database node for that account only", async () => {
      const { client, checks } = newParent();
      const plan = await reparenting({ ralpha: PARENT_NODE }).preflight(KID, client, route);
      assert.deepEqual(plan.accounts, ['ralpha', 'rbeta']);
      assert.deepEqual(checks, ['ralpha ralpha.test - databases=true', 'rbeta rbeta.test - databases=false']);
    });

    test('databases on the moving child itself refuse with 409 naming the account and its databases, before the new parent is asked', async () => {
      const { client, checks } = newParent();
      await assert.rejects(reparenting({ ralpha: PARENT_NODE, rbeta: KID }).preflight(KID, client, route), (error: FleetError) => {
        assert.equal(error.kind, 'conflict');
        assert.match(error.message, /account 'rbeta' keeps its database\(s\) \(rbeta_data\) on node 'kid' itself/);
        assert.deepEqual(error.details, { account: 'rbeta', databases: ['rbeta_data'] });
        return true;
      });
      assert.deepEqual(checks, []);
    });
  });
}

describe('re-parent: this parent lets an account go only once it is verified moved', () => {
  /** Reparenting whose databases compare as `differs` says, recording what it compared. */
  function withDigests(differs: (name: string) => boolean): { r: Reparenting; compared: string[] } {
    const compared: string[] = [];
    const databases: Pick<DatabaseMoves, 'sourceOf' | 'verify'> = {
      sourceOf: async (a) => (a.username === 'ralpha' ? { node: PARENT_NODE, names: ['ralpha_data', 'ralpha_wp'] } : undefined),
      verify: async (_node, _target, _username, name) => {
        compared.push(name);
        if (differs(name)) throw new Error(`database ${name}: table(s) orders differ`);
        return { tables: 1, rows: 400 };
      },
    };
    return { r: new Reparenting({ databases } as unknown as ReparentDeps), compared };
  }
  const target = (has: boolean, underWay: boolean): NewParentClient => ({ url: 'http://198.51.100.1:8080', hasAccount: async () => has, underWay: async () => underWay }) as unknown as NewParentClient;

  test('an account the new parent lacks, or still imports, stays here; its databases are not even compared', async () => {
    for (const [has, underWay] of [[false, false], [true, true]]) {
      const { r, compared } = withDigests(() => false);
      await assert.rejects(r.verifyMoved(ACCOUNTS[0]!, target(has, underWay)), /account 'ralpha' is not \(or not yet fully\) at the new parent/);
      assert.deepEqual(compared, []);
    }
  });

  test('every database is compared, and one that differs keeps the account here', async () => {
    const same = withDigests(() => false);
    await same.r.verifyMoved(ACCOUNTS[0]!, target(true, false));
    assert.deepEqual(same.compared, ['ralpha_data', 'ralpha_wp']);
    const differing = withDigests((name) => name === 'ralpha_wp');
    await assert.rejects(differing.r.verifyMoved(ACCOUNTS[0]!, target(true, false)), /ralpha_wp: table\(s\) orders differ/);
  });
});
