/**
 * The parent's system-data service against a real store (SQLite in memory) and fake agents, so
 * the recording rules are proven without daemons: what is recorded after a change, after a
 * refusal and after a failure, and how the synchronizers resolve de-syncs.
 */
import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type OpenedStore } from '../../src/store/database.ts';
import { NodesRepository, type NodeRow } from '../../src/nodes/nodes.repository.ts';
import { SysdataRepository } from '../../src/sysdata/sysdata.repository.ts';
import { SysdataService, type SysdataAgents } from '../../src/sysdata/sysdata.service.ts';
import { digest } from '../../src/sysdata/digest.ts';
import { DistributedQueryError } from '../../src/sysdata/distributed-query.ts';
import { ConflictError } from '../../src/core/errors.ts';
import type { SystemDataType } from '../../src/protocol/sysdata-items.ts';
import type { Role } from '../../src/protocol/roles.ts';
import type { NodeStatus } from '../../src/nodes/node.model.ts';
import { TEST_NET } from '../test-net.ts';

/** Nodes that keep their lists in memory; `failing` refuses every apply. */
class FakeAgents implements SysdataAgents {
  readonly held = new Map<string, unknown[]>();
  readonly failing = new Set<string>();

  private key(node: NodeRow, type: SystemDataType): string {
    return `${node.alias}/${type}`;
  }
  async apply(node: NodeRow, type: SystemDataType, items: readonly unknown[]): Promise<void> {
    if (this.failing.has(node.alias)) throw new Error(`${node.alias} refuses`);
    this.held.set(this.key(node, type), [...items]);
  }
  async digest(node: NodeRow, type: SystemDataType): Promise<string> {
    return digest((this.held.get(this.key(node, type)) ?? []) as { id: string }[]);
  }
  list(alias: string, type: SystemDataType): unknown[] {
    return this.held.get(`${alias}/${type}`) ?? [];
  }
}

const rule = { action: 'deny', protocol: 'tcp', port: 2555, source: '0.0.0.0/0' };

describe('SysdataService', () => {
  let store: OpenedStore;
  let nodes: NodesRepository;
  let agents: FakeAgents;
  let service: SysdataService;

  const addNode = async (alias: string, status: NodeStatus, roles: Role[] = ['mail']): Promise<void> => {
    await nodes.insert({ alias, host: `${TEST_NET}.99.${alias.length}`, agentPort: 7443, profile: 'STANDARD', roles, status, isLocal: false, fingerprint: null, tlsVerified: true, agentVersion: null });
  };
  const setStatus = async (alias: string, status: NodeStatus): Promise<void> => {
    await nodes.setStatus((await nodes.byAlias(alias))!.id, status, null);
  };

  beforeEach(async () => {
    await store?.close();
    store = await openStore(':memory:');
    nodes = new NodesRepository(store.db);
    agents = new FakeAgents();
    service = new SysdataService({ repo: new SysdataRepository(store.db), nodeRows: () => nodes.list(), agents });
    await addNode('a', 'ready');
    await addNode('bb', 'ready');
    await addNode('ccc', 'offline');
  });
  after(async () => store.close());

  test('a change reaches the ready nodes and registers a de-sync for the others', async () => {
    const result = await service.add('firewall', { ...rule, id: 'block-2555' });
    assert.deepEqual(result.applied, ['a', 'bb']);
    assert.deepEqual(result.desynced, ['ccc']);
    assert.equal(agents.list('a', 'firewall').length, 1);
    assert.equal(agents.list('ccc', 'firewall').length, 0);
    const firewall = (await service.status()).find((t) => t.type === 'firewall')!;
    assert.deepEqual(firewall.nodes.map((n) => [n.node, n.inSync]), [['a', true], ['bb', true], ['ccc', false]]);
    assert.match(firewall.nodes[2]!.reason!, /offline when "add block-2555"/);
  });

  test('the returning node is brought equal and its de-sync resolved', async () => {
    await service.add('firewall', { ...rule, id: 'block-2555' });
    await setStatus('ccc', 'data_sync');
    await service.syncJoiningNode((await nodes.byAlias('ccc'))!);
    assert.deepEqual(agents.list('ccc', 'firewall'), agents.list('a', 'firewall'));
    const firewall = (await service.status()).find((t) => t.type === 'firewall')!;
    assert.ok(firewall.nodes.every((n) => n.inSync));
  });

  test('a refused precondition changes nothing and names the nodes not ready', async () => {
    await service.setPolicy('firewall', 80);
    await assert.rejects(service.add('firewall', rule), (error: unknown) => error instanceof ConflictError && /not ready: ccc \(offline\)/.test(error.message));
    assert.equal(agents.list('a', 'firewall').length, 0);
    assert.equal((await service.list('firewall')).items.length, 0);
  });

  test('a failure on one node undoes the change everywhere and records nothing', async () => {
    await service.add('scheduler', { id: 'keep', schedule: '@daily', command: '/bin/true', user: 'root' });
    agents.failing.add('bb');
    await assert.rejects(service.add('scheduler', { id: 'new', schedule: '@hourly', command: '/bin/true', user: 'root' }), DistributedQueryError);
    assert.deepEqual((agents.list('a', 'scheduler') as { id: string }[]).map((t) => t.id), ['keep']);
    assert.deepEqual((await service.list('scheduler')).items.map((t) => t.id), ['keep']);
  });

  test('the periodic check repairs drift and logs it as a resolved de-sync', async () => {
    await service.add('firewall', { ...rule, id: 'block-2555' });
    agents.held.set('bb/firewall', [{ id: 'unmanaged:handle-9' }]);
    const outcomes = await service.checkAll();
    assert.ok(outcomes.some((o) => o.node === 'bb' && o.type === 'firewall' && o.result === 'pushed'));
    assert.deepEqual(agents.list('bb', 'firewall'), agents.list('a', 'firewall'));
  });

  test('the mail lists only target nodes with the mail role', async () => {
    await addNode('webonly', 'ready', ['web']);
    const result = await service.add('blacklist', { kind: 'sender', value: 'spam@example.com' });
    assert.deepEqual(result.applied, ['a', 'bb']);
    assert.equal(agents.list('webonly', 'blacklist').length, 0);
  });
});
