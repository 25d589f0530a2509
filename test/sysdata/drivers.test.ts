/**
 * The system-data drivers against the real thing: nftables in this kernel, and the cron and
 * Postfix map files in throw-away node roots (read by Postfix's own postmap). Uses only
 * 127.0.23.x, and removes its tables and listeners afterwards so it can run again at once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, appendFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:net';
import { listen, tryConnect } from './net-probe.ts';
import { CommandError, run } from '../../src/core/exec.ts';
import { ValidationError } from '../../src/core/errors.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { digest } from '../../src/sysdata/digest.ts';
import { nodeDigest } from '../../src/sysdata/driver.ts';
import { FirewallDriver, firewallTableName } from '../../src/sysdata/firewall.driver.ts';
import { SchedulerDriver } from '../../src/sysdata/scheduler.driver.ts';
import { createAccessMapDrivers } from '../../src/sysdata/access-map.driver.ts';
import type { AccessEntry, FirewallRule, ScheduledTask } from '../../src/protocol/sysdata-items.ts';
import { TEST_NET } from '../test-net.ts';

const NODE_A = `${TEST_NET}.23.2`;
const NODE_B = `${TEST_NET}.23.3`;
const OUTSIDER = `${TEST_NET}.23.9`;
const INSIDER = `${TEST_NET}.23.10`;
const SENTINEL_TABLE = `fleetpanel_test_sentinel_${TEST_NET.replace('.', '_')}`;

const roots: string[] = [];
function newLayout(): NodeLayout {
  const root = mkdtempSync(join(tmpdir(), 'fleetpanel-sysdata-'));
  roots.push(root);
  const layout = new NodeLayout(root);
  layout.ensure();
  return layout;
}

after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

async function deleteTableIfPresent(name: string): Promise<void> {
  await run('nft', ['delete', 'table', 'inet', name]).catch(() => undefined);
}

async function listTable(name: string): Promise<string> {
  return (await run('nft', ['list', 'table', 'inet', name])).stdout;
}

describe('firewall driver (real nftables)', () => {
  const servers: Server[] = [];
  const nodeA = new FirewallDriver({ layout: newLayout(), address: NODE_A });
  const nodeB = new FirewallDriver({ layout: newLayout(), address: NODE_B });
  const rules: FirewallRule[] = [
    { id: 'block-2555', action: 'deny', protocol: 'tcp', port: 2555, source: '0.0.0.0/0', comment: 'test service' },
    { id: 'block-outsider', action: 'deny', protocol: 'tcp', port: '2556-2557', source: `${OUTSIDER}` },
    { id: 'dns-lan', action: 'allow', protocol: 'udp', port: 53, source: '192.0.2.0/24' },
  ];

  before(async () => {
    // Left over from an interrupted run: start from nothing.
    for (const name of [nodeA.tableName, nodeB.tableName, SENTINEL_TABLE]) await deleteTableIfPresent(name);
    await run('nft', ['-f', '-'], {
      input: `table inet ${SENTINEL_TABLE} {\n chain probe {\n  ip daddr ${TEST_NET}.23.250 tcp dport 9 counter accept comment "someone else's"\n }\n}\n`,
    });
    for (const [host, port] of [
      [NODE_A, 2555],
      [NODE_B, 2555],
      [NODE_A, 2556],
      [NODE_A, 7443],
      [NODE_A, 22],
    ] as const) {
      servers.push(await listen(host, port));
    }
  });

  after(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await nodeA.remove();
    await nodeB.remove();
    await deleteTableIfPresent(SENTINEL_TABLE);
  });

  test('the table name is derived from the node address', () => {
    assert.equal(firewallTableName(NODE_A), `fleetpanel_${NODE_A.replaceAll('.', '_')}`);
    assert.equal(nodeA.tableName, `fleetpanel_${NODE_A.replaceAll('.', '_')}`);
  });

  test('a node without a table reads back as an empty list', async () => {
    assert.deepEqual(await nodeA.read(), []);
  });

  test("a deny rule blocks the node's port while the same port on another node still connects", async () => {
    const sentinelBefore = await listTable(SENTINEL_TABLE);
    await nodeB.apply([{ id: 'b-only', action: 'deny', protocol: 'udp', port: 9999, source: '0.0.0.0/0' }]);
    const tableBBefore = await listTable(nodeB.tableName);

    assert.equal(await tryConnect(NODE_A, 2555), 'connected', 'reachable before the rule');
    await nodeA.apply(rules);

    assert.equal(await tryConnect(NODE_A, 2555), 'ECONNREFUSED');
    assert.equal(await tryConnect(NODE_B, 2555), 'connected');
    // The guards come before every user rule: the agent and SSH stay reachable.
    assert.equal(await tryConnect(NODE_A, 7443), 'connected');
    assert.equal(await tryConnect(NODE_A, 22), 'connected');
    // A source-specific rule only stops that source.
    assert.equal(await tryConnect(NODE_A, 2556, OUTSIDER), 'ECONNREFUSED');
    assert.equal(await tryConnect(NODE_A, 2556, INSIDER), 'connected');

    assert.equal(await listTable(SENTINEL_TABLE), sentinelBefore, 'a table of someone else is untouched');
    assert.equal(await listTable(nodeB.tableName), tableBBefore, "another node's table is untouched");
  });

  test('read() parses the ruleset back into the same list, comments and ids included', async () => {
    const readBack = await nodeA.read();
    assert.deepEqual(
      readBack.sort((a, b) => a.id.localeCompare(b.id)),
      [...rules].sort((a, b) => a.id.localeCompare(b.id)),
    );
    assert.equal(await nodeDigest(nodeA), digest(rules));
    const rendered = readFileSync(nodeA.scriptPath, 'utf8');
    // Allow rules are rendered before deny rules whatever the list order.
    assert.ok(rendered.indexOf('dns-lan') < rendered.indexOf('block-2555'));
  });

  test('applying the same list again is harmless and keeps the digest', async () => {
    await nodeA.apply([...rules].reverse());
    assert.equal(await nodeDigest(nodeA), digest(rules));
    assert.equal(await tryConnect(NODE_A, 2555), 'ECONNREFUSED');
  });

  test('a rule added by hand is seen as drift, and applying the list again removes it', async () => {
    await run('nft', ['add', 'rule', 'inet', nodeA.tableName, 'input', 'ip', 'daddr', NODE_A, 'tcp', 'dport', '2600', 'drop']);
    const drifted = await nodeA.read();
    assert.notEqual(digest(drifted), digest(rules));
    const unmanaged = drifted.filter((r) => r.id.startsWith('unmanaged:'));
    assert.equal(unmanaged.length, 1);
    assert.equal(unmanaged[0]!.port, 2600);

    await nodeA.apply(rules);
    assert.equal(await nodeDigest(nodeA), digest(rules));
  });

  test('a rule edited or a guard deleted by hand is seen as drift', async () => {
    const listing = JSON.parse((await run('nft', ['-j', '-a', 'list', 'table', 'inet', nodeA.tableName])).stdout) as { nftables: { rule?: { handle: number; comment?: string } }[] };
    const guard = listing.nftables.find((o) => o.rule?.comment === 'fleetpanel:guard port 7443')!.rule!;
    await run('nft', ['delete', 'rule', 'inet', nodeA.tableName, 'input', 'handle', String(guard.handle)]);
    const drifted = await nodeA.read();
    assert.ok(drifted.some((r) => r.id === 'unmanaged:missing-guard-7443'));
    await nodeA.apply(rules);
    assert.equal(await nodeDigest(nodeA), digest(rules));
  });

  test('a deny rule on the agent port is refused before nft is touched', async () => {
    const tableBefore = await listTable(nodeA.tableName);
    await assert.rejects(nodeA.apply([{ id: 'lockout', action: 'deny', protocol: 'tcp', port: 7443, source: '0.0.0.0/0' }]), (error: unknown) => error instanceof ValidationError && error.field === 'firewall[0].port');
    await assert.rejects(nodeA.apply([{ id: 'lockout', action: 'deny', protocol: 'tcp', port: '1-1024', source: '0.0.0.0/0' }]), /tcp port 22 \(SSH\)/);
    assert.equal(await listTable(nodeA.tableName), tableBefore);
    assert.equal(await tryConnect(NODE_A, 7443), 'connected');
  });

  test('an empty list lifts every rule but keeps the table and its guards', async () => {
    await nodeA.apply([]);
    assert.deepEqual(await nodeA.read(), []);
    assert.equal(await tryConnect(NODE_A, 2555), 'connected');
  });
});

describe('scheduler driver (cron.d file)', () => {
  const layout = newLayout();
  const driver = new SchedulerDriver({ layout, address: NODE_A });
  const tasks: ScheduledTask[] = [
    { id: 'backup', schedule: '30 2 * * 1-5', command: "/usr/local/bin/backup --to '/srv/backup dir' && echo done", user: 'root' },
    { id: 'cleanup', schedule: '@daily', command: 'find /tmp -mtime +7 -delete', user: 'www-data' },
    { id: 'every-5', schedule: '*/5 * * * *', command: 'true  with  inner  spacing', user: '_fleet' },
  ];

  test('renders a cron.d file with a header and the user column, and reads it back', async () => {
    await driver.apply(tasks);
    assert.equal(driver.cronFilePath, layout.etc('cron.d', 'fleetpanel'));
    const text = readFileSync(driver.cronFilePath, 'utf8');
    assert.ok(text.startsWith(`# Fleetpanel scheduler of node ${NODE_A}.`), text);
    assert.match(text, /^SHELL=\/bin\/sh$/m);
    assert.match(text, /^30 2 \* \* 1-5 root \/usr\/local\/bin\/backup --to '\/srv\/backup dir' && echo done$/m);
    assert.match(text, /^@daily www-data find \/tmp -mtime \+7 -delete$/m);
    assert.equal(statSync(driver.cronFilePath).mode & 0o777, 0o644);
    assert.deepEqual(await driver.read(), tasks);
  });

  test('a line added or edited by hand is drift; applying again restores the file', async () => {
    appendFileSync(driver.cronFilePath, '* * * * * root curl http://example.com/x\n');
    const drifted = await driver.read();
    assert.ok(drifted.some((t) => t.id.startsWith('unmanaged:line-') && t.command === 'curl http://example.com/x'));
    assert.notEqual(digest(drifted), digest(tasks));
    await driver.apply(tasks);
    assert.equal(await nodeDigest(driver), digest(tasks));

    writeFileSync(driver.cronFilePath, readFileSync(driver.cronFilePath, 'utf8').replace('@daily www-data', '@hourly www-data'));
    assert.notEqual(await nodeDigest(driver), digest(tasks));
  });

  test('an invalid task is refused and leaves the file as it was', async () => {
    await driver.apply(tasks);
    const before = readFileSync(driver.cronFilePath, 'utf8');
    await assert.rejects(driver.apply([{ id: 'x', schedule: '* * * * *', command: 'echo a\n* * * * * root evil', user: 'root' }]), ValidationError);
    assert.equal(readFileSync(driver.cronFilePath, 'utf8'), before);
  });
});

describe('whitelist and blacklist drivers (Postfix access maps)', () => {
  const layout = newLayout();
  let reloads = 0;
  const drivers = createAccessMapDrivers({ layout, address: NODE_A, reloadMail: async () => void reloads++ });
  const senderMap = layout.etc('postfix', 'fleet-sender-access');
  const clientMap = layout.etc('postfix', 'fleet-client-access.cidr');
  const whitelist: AccessEntry[] = [
    { id: 'partner', kind: 'sender', value: 'boss@partner.example' },
    { id: 'office', kind: 'network', value: '192.0.2.0/24' },
    { id: 'both', kind: 'sender', value: '@both.example' },
  ];
  const blacklist: AccessEntry[] = [
    { id: 'spam-domain', kind: 'sender', value: '@spam.example' },
    { id: 'spammer', kind: 'sender', value: 'bulk@ads.example' },
    { id: 'bad-net', kind: 'network', value: '198.51.100.0/24' },
    { id: 'bad-host', kind: 'network', value: '192.0.2.66' },
    { id: 'shadowed', kind: 'sender', value: '@both.example' },
  ];

  // postmap needs a main.cf to start; an empty one gives the defaults.
  const postfixConfig = mkdtempSync(join(tmpdir(), 'fleetpanel-postmap-'));
  roots.push(postfixConfig);
  writeFileSync(join(postfixConfig, 'main.cf'), '');

  /** What Postfix finds for a key; a warning (a duplicate key, a bad line) fails the test. */
  async function postmapQuery(table: string, key: string): Promise<string> {
    // Exit code 1 means 'not found'; its stderr is still checked for warnings below.
    const { stdout, stderr } = await run('postmap', ['-c', postfixConfig, '-q', key, table]).catch((error: unknown) => {
      if (error instanceof CommandError && error.exitCode === 1) return { stdout: '(not found)', stderr: error.stderr };
      throw error;
    });
    assert.doesNotMatch(stderr, /warning|fatal|error/, `postmap complained about ${table}`);
    return stdout.trim();
  }

  test('each list renders into its own section of both maps and reads back on its own', async () => {
    await drivers.whitelist.apply(whitelist);
    assert.equal(reloads, 1);
    await drivers.blacklist.apply(blacklist);
    assert.equal(reloads, 2);
    const byId = (a: AccessEntry, b: AccessEntry): number => a.id.localeCompare(b.id);
    assert.deepEqual((await drivers.whitelist.read()).sort(byId), [...whitelist].sort(byId));
    assert.deepEqual((await drivers.blacklist.read()).sort(byId), [...blacklist].sort(byId));
    assert.equal(await nodeDigest(drivers.whitelist), digest(whitelist));
    assert.equal(await nodeDigest(drivers.blacklist), digest(blacklist));

    const senders = readFileSync(senderMap, 'utf8');
    assert.match(senders, /^boss@partner\.example OK$/m);
    assert.match(senders, /^spam\.example REJECT /m);
    assert.ok(senders.indexOf('# section: whitelist') < senders.indexOf('# section: blacklist'));
    assert.match(readFileSync(clientMap, 'utf8'), /^198\.51\.100\.0\/24 REJECT /m);
  });

  test("Postfix's own lookup reads the maps: whitelist first, blacklist rejects", async () => {
    assert.equal(await postmapQuery(`texthash:${senderMap}`, 'boss@partner.example'), 'OK');
    assert.match(await postmapQuery(`texthash:${senderMap}`, 'spam.example'), /^REJECT /);
    assert.match(await postmapQuery(`texthash:${senderMap}`, 'bulk@ads.example'), /^REJECT /);
    // Listed in both: the whitelist wins, and the map holds the key once.
    assert.equal(await postmapQuery(`texthash:${senderMap}`, 'both.example'), 'OK');
    assert.equal(await postmapQuery(`cidr:${clientMap}`, '192.0.2.10'), 'OK');
    // Inside a whitelisted network and blacklisted alone: cidr answers with the first match.
    assert.equal(await postmapQuery(`cidr:${clientMap}`, '192.0.2.66'), 'OK');
    assert.match(await postmapQuery(`cidr:${clientMap}`, '198.51.100.7'), /^REJECT /);
    assert.equal(await postmapQuery(`cidr:${clientMap}`, '203.0.113.1'), '(not found)');
  });

  test('applying an unchanged list does not reload mail; applying one list keeps the other', async () => {
    const reloadsBefore = reloads;
    await drivers.blacklist.apply(blacklist);
    assert.equal(reloads, reloadsBefore);
    await drivers.whitelist.apply(whitelist.slice(0, 1));
    assert.equal(reloads, reloadsBefore + 1);
    assert.equal(await nodeDigest(drivers.blacklist), digest(blacklist));
    await drivers.whitelist.apply(whitelist);
  });

  test('applies of both lists at once do not overwrite each other', async () => {
    await Promise.all([drivers.whitelist.apply(whitelist.slice(1)), drivers.blacklist.apply(blacklist.slice(1))]);
    assert.equal(await nodeDigest(drivers.whitelist), digest(whitelist.slice(1)));
    assert.equal(await nodeDigest(drivers.blacklist), digest(blacklist.slice(1)));
    await Promise.all([drivers.whitelist.apply(whitelist), drivers.blacklist.apply(blacklist)]);
  });

  test('a line added by hand shows as drift in the list of its action only', async () => {
    appendFileSync(clientMap, '203.0.113.0/24 REJECT by hand\n');
    assert.equal(await nodeDigest(drivers.whitelist), digest(whitelist));
    const drifted = await drivers.blacklist.read();
    assert.ok(drifted.some((e) => e.id.startsWith('unmanaged:network-line-') && e.value === '203.0.113.0/24'));
    await drivers.blacklist.apply(blacklist);
    assert.equal(await nodeDigest(drivers.blacklist), digest(blacklist));
  });

  test('a failing reload fails the apply', async () => {
    const failing = createAccessMapDrivers({ layout: newLayout(), address: NODE_B, reloadMail: async () => Promise.reject(new Error('postfix reload: fatal')) });
    await assert.rejects(failing.whitelist.apply(whitelist), /postfix reload: fatal/);
  });
});
