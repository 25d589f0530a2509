import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digest } from './digest.ts';
import { Synchronizer, SynchronizerRegistry, type SynchronizerPorts } from './synchronizer.ts';
import type { SysdataNode } from './targets.ts';
import { SYSTEM_DATA_TYPES, type SystemDataItem, type SystemDataType } from '../protocol/sysdata-items.ts';

const mailNode: SysdataNode = { id: '2', alias: 'mail1', status: 'ready', roles: [{ name: 'mail', active: true }] };
const webNode: SysdataNode = { id: '3', alias: 'web1', status: 'ready', roles: [{ name: 'web', active: true }] };

/** Parent and node lists in memory; the node's list starts empty (a fresh node). */
function fakePorts<T extends SystemDataType>(parent: SystemDataItem<T>[], log: string[], type: T): SynchronizerPorts<T> & { nodeLists: Map<string, readonly SystemDataItem<T>[]> } {
  const nodeLists = new Map<string, readonly SystemDataItem<T>[]>();
  return {
    nodeLists,
    parentList: async () => parent,
    nodeDigest: async (node) => digest(nodeLists.get(node.alias) ?? []),
    push: async (node, list) => {
      log.push(`${type} -> ${node.alias}`);
      nodeLists.set(node.alias, list);
    },
  };
}

test('reconcile pushes the parent list when digests differ, and does nothing once they match', async () => {
  const log: string[] = [];
  const ports = fakePorts<'scheduler'>([{ id: 't', schedule: '@daily', command: 'true', user: 'root' }], log, 'scheduler');
  const synchronizer = new Synchronizer('scheduler', ports);
  const first = await synchronizer.reconcile(webNode);
  assert.equal(first.result, 'pushed');
  const second = await synchronizer.reconcile(webNode);
  assert.equal(second.result, 'in-sync');
  assert.deepEqual(log, ['scheduler -> web1']);
});

function fullRegistry(log: string[], failing?: SystemDataType) {
  const parentLists: { [T in SystemDataType]: SystemDataItem<T>[] } = {
    firewall: [{ id: 'f', action: 'deny', protocol: 'udp', port: 53, source: '0.0.0.0/0' }],
    whitelist: [{ id: 'w', kind: 'network', value: '192.0.2.0/24' }],
    blacklist: [{ id: 'b', kind: 'sender', value: '@spam.example' }],
    scheduler: [{ id: 's', schedule: '@hourly', command: 'true', user: 'root' }],
  };
  // Registered out of order on purpose: the registry orders by priority, not by registration.
  return new SynchronizerRegistry(
    (['scheduler', 'blacklist', 'firewall', 'whitelist'] as const).map((type) => {
      const ports = fakePorts(parentLists[type] as SystemDataItem<typeof type>[], log, type);
      if (type === failing) ports.push = async () => Promise.reject(new Error('agent said no'));
      return new Synchronizer<SystemDataType>(type, ports as SynchronizerPorts<SystemDataType>);
    }),
  );
}

test('a node is reconciled firewall first, then whitelist, blacklist, scheduler; mail lists only on mail nodes', async () => {
  const log: string[] = [];
  const registry = fullRegistry(log);
  assert.deepEqual(registry.ordered().map((s) => s.type), ['firewall', 'whitelist', 'blacklist', 'scheduler']);
  await registry.reconcileNode(mailNode);
  await registry.reconcileNode(webNode);
  assert.deepEqual(log, ['firewall -> mail1', 'whitelist -> mail1', 'blacklist -> mail1', 'scheduler -> mail1', 'firewall -> web1', 'scheduler -> web1']);
});

test('one failing type does not stop the others', async () => {
  const log: string[] = [];
  const outcomes = await fullRegistry(log, 'whitelist').reconcileNode(mailNode);
  assert.deepEqual(outcomes.map((o) => `${o.type}:${o.result}`), ['firewall:pushed', 'whitelist:failed', 'blacklist:pushed', 'scheduler:pushed']);
});

test('start-up refuses a missing or doubled synchronizer', () => {
  const log: string[] = [];
  const make = (type: SystemDataType) => new Synchronizer<SystemDataType>(type, fakePorts<SystemDataType>([], log, type));
  assert.throws(() => new SynchronizerRegistry(['firewall', 'whitelist', 'blacklist'].map((t) => make(t as SystemDataType))), /no synchronizer for scheduler/);
  assert.throws(() => new SynchronizerRegistry([...SYSTEM_DATA_TYPES.map(make), make('firewall')]), /more than one synchronizer for firewall/);
  assert.equal(new SynchronizerRegistry(SYSTEM_DATA_TYPES.map(make)).ordered().length, 4);
});
