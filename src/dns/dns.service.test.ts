import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsService, managedRecordRefusal, type DnsAgents } from './dns.service.ts';
import type { DnsRepository, UserRecord } from './dns.repository.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { ZoneRecord } from '../protocol/zone-record.ts';
import { ValidationError } from '../core/errors.ts';

const parent = { id: 1, alias: 'parent', host: '192.0.2.1', roles: ['mail', 'web', 'dns'], status: 'ready' } as NodeRow;
const child = { id: 2, alias: 'mail1', host: '192.0.2.2', roles: ['mail'], status: 'ready' } as NodeRow;
const ann = { id: 7, username: 'ann', domain: 'ann.test', ipv6: false, suspended: false } as AccountRecord;
const admin = { username: 'admin', role: 'admin' } as const;

function setup(options: { mailNode?: NodeRow; ipv6?: Map<number, string> } = {}): { dns: DnsService; zones: Map<string, ZoneRecord[]>; stored: UserRecord[] } {
  const zones = new Map<string, ZoneRecord[]>();
  const stored: UserRecord[] = [];
  const repo = {
    userRecords: async () => stored.map((r) => ({ ...r })),
    insertUserRecord: async (_id: number, record: ZoneRecord) => stored.push({ ...record, id: stored.length + 1 }),
    removeUserRecord: async () => undefined,
    removeUserRecords: async () => undefined,
    domainsWithDnsOn: async () => ['ann.test'],
    nodeIpv6: async (id: number) => options.ipv6?.get(id),
    setNodeIpv6: async () => undefined,
  } as unknown as DnsRepository;
  const accounts = {
    requireAccount: async () => ann,
    nodeOf: async (_account: AccountRecord, workload: string) => (workload === 'mail' ? (options.mailNode ?? parent) : parent),
    byDomain: async () => ann,
  };
  const agents: DnsAgents = {
    getZone: async (_node, domain) => zones.get(domain),
    putZone: async (_node, domain, records) => void zones.set(domain, records),
    deleteZone: async (_node, domain) => void zones.delete(domain),
    listZones: async () => [...zones.keys()],
  };
  return { dns: new DnsService(repo, accounts, { byAlias: async () => parent, list: async () => [parent] }, agents), zones, stored };
}

const addressOf = (records: ZoneRecord[], name: string, type = 'A'): string[] => records.filter((r) => r.name === name && r.type === type).map((r) => r.content);

test("the mail names follow the account's mail node; refreshZone can point them before the store does", async () => {
  const { dns, zones } = setup();
  await dns.provision(ann, parent);
  assert.deepEqual(addressOf(zones.get('ann.test')!, 'mail.ann.test'), ['192.0.2.1']);
  await dns.refreshZone(ann, { mailNode: child });
  const zone = zones.get('ann.test')!;
  for (const host of ['mail', 'webmail', 'autoconfig', 'autodiscover']) assert.deepEqual(addressOf(zone, `${host}.ann.test`), ['192.0.2.2']);
  assert.deepEqual(addressOf(zone, 'ann.test'), ['192.0.2.1'], 'the site stays');
  assert.deepEqual(addressOf(zone, 'ann.test', 'MX'), ['10 mail.ann.test']);
});

test('AAAA only with the account flag on and a node IPv6 address set', async () => {
  const { dns, zones } = setup({ ipv6: new Map([[1, '2001:db8::1']]) });
  await dns.provision(ann, parent);
  assert.deepEqual(addressOf(zones.get('ann.test')!, 'ann.test', 'AAAA'), []);
  await dns.update({ ...ann, ipv6: true }, parent);
  assert.deepEqual(addressOf(zones.get('ann.test')!, 'ann.test', 'AAAA'), ['2001:db8::1']);
});

test('user records merge into the zone; the managed names are refused with the field named', async () => {
  const { dns, zones } = setup();
  await dns.provision(ann, parent);
  const added = await dns.addRecord(admin, 'ann', { name: 'blog', type: 'A', content: '198.51.100.4' });
  assert.equal(added.proxiedFrom, 'parent');
  assert.deepEqual(addressOf(zones.get('ann.test')!, 'blog.ann.test'), ['198.51.100.4']);
  await assert.rejects(dns.addRecord(admin, 'ann', { name: 'webmail', type: 'CNAME', content: 'elsewhere.test' }), (e: ValidationError) => e.field === 'name');
  await assert.rejects(dns.addRecord(admin, 'ann', { name: 'x', type: 'A', content: '1.2.3' }), (e: ValidationError) => e.field === 'content');
  // TTLs of one record set must agree: the refusal names ttl, and the zone is not touched.
  const before = zones.get('ann.test');
  await assert.rejects(dns.addRecord(admin, 'ann', { name: 'blog', type: 'A', ttl: 60, content: '198.51.100.5' }), (e: ValidationError) => e.field === 'ttl');
  assert.equal(zones.get('ann.test'), before);
});

test('managedRecordRefusal leaves TXT, CAA and SRV at the managed names to the user', () => {
  assert.equal(managedRecordRefusal('ann.test', { name: 'ann.test', type: 'TXT' }), null);
  assert.equal(managedRecordRefusal('ann.test', { name: 'mail.ann.test', type: 'TXT' }), null);
  assert.equal(managedRecordRefusal('ann.test', { name: 'shop.ann.test', type: 'A' }), null);
  assert.equal(managedRecordRefusal('ann.test', { name: 'ann.test', type: 'MX' })?.field, 'name');
  assert.equal(managedRecordRefusal('ann.test', { name: 'deep.ann.test', type: 'NS' })?.field, 'type');
});

test('the data sync removes zones of accounts that are gone', async () => {
  const { dns, zones } = setup();
  zones.set('gone.test', []);
  await dns.syncNode(parent);
  assert.deepEqual([...zones.keys()], ['ann.test']);
});
