/**
 * System data on a real local cluster: a parent with its own node on 127.0.34.1 and two children
 * on 127.0.34.2 and .3, each agent a process of its own, firewall rules in real nftables tables.
 * What each node holds is read from the node itself (its nft table, its cron file), never from
 * the parent. The cluster is started and stopped by PID here, and the node tables removed, so
 * the file can run again at once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { listen, tryConnect } from '../sysdata/net-probe.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../src/agent/daemon-process.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { run } from '../../src/core/exec.ts';
import { CLI_ENTRY } from '../../src/demo/processes.ts';
import { LocalCluster, type ClusterInfo } from '../../src/demo/local-cluster.ts';
import type { NodeView } from '../../src/nodes/node.model.ts';
import { nodeDigest } from '../../src/sysdata/driver.ts';
import { FirewallDriver, firewallTableName } from '../../src/sysdata/firewall.driver.ts';
import { SchedulerDriver } from '../../src/sysdata/scheduler.driver.ts';
import type { ChangeResult, ListView, TypeSyncStatus } from '../../src/sysdata/sysdata.service.ts';
import { TEST_NET } from '../test-net.ts';

const PARENT = `${TEST_NET}.34.1`;
const CHILD1 = `${TEST_NET}.34.2`;
const CHILD2 = `${TEST_NET}.34.3`;
const NODES = [
  { alias: 'parent', address: PARENT },
  { alias: 'child1', address: CHILD1 },
  { alias: 'child2', address: CHILD2 },
] as const;
type Alias = (typeof NODES)[number]['alias'];

const BLOCK_2555 = { id: 'block-2555', action: 'deny', protocol: 'tcp', port: 2555, source: '0.0.0.0/0' };

/** Runs the real CLI against the cluster; resolves with its exit code and output. */
function cli(info: ClusterInfo, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI_ENTRY, '--url', info.url, '--token', info.token, ...args],
      { env: { ...process.env, NODE_OPTIONS: '' } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('system data on a three-node cluster', () => {
  const previousInterval = process.env.FLEETPANEL_SYSDATA_CHECK_INTERVAL_MS;
  const dir = mkdtempSync(join(tmpdir(), 'fleetpanel-sysdata-e2e-'));
  const cluster = new LocalCluster({
    dir,
    parentAddress: PARENT,
    healthIntervalMs: 1000,
    children: [
      { alias: 'child1', address: CHILD1, roles: ['mail'], link: 'token' },
      { alias: 'child2', address: CHILD2, roles: ['mail'], link: 'token' },
    ],
  });
  let info: ClusterInfo;
  const servers: Server[] = [];

  const firewallOf = (alias: Alias): FirewallDriver => {
    const node = NODES.find((n) => n.alias === alias)!;
    return new FirewallDriver({ layout: new NodeLayout(cluster.nodeRoot(alias)), address: node.address, guardedTcpPorts: [22, 7443] });
  };
  const api = <T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> => cluster.api<T>(info.token, method, path, body);
  const refusal = async (promise: Promise<unknown>): Promise<{ status: number; message: string }> => {
    try {
      await promise;
    } catch (error) {
      const { status, body } = error as { status: number; body: { message: string } };
      return { status, message: body.message };
    }
    throw new Error('the request was expected to be refused');
  };
  const parentDigest = async (type: string): Promise<string> => (await api<ListView>('GET', `/api/sysdata/${type}`)).digest;
  const firewallDigests = async (): Promise<Record<Alias, string>> => ({
    parent: await nodeDigest(firewallOf('parent')),
    child1: await nodeDigest(firewallOf('child1')),
    child2: await nodeDigest(firewallOf('child2')),
  });
  const waitStatus = (alias: Alias, status: NodeView['status']): Promise<void> =>
    waitFor(async () => (await api<NodeView>('GET', `/api/nodes/${alias}`)).status === status, 60_000, `${alias} to be ${status}`);
  const firewallStatus = async (): Promise<TypeSyncStatus> => (await api<{ types: TypeSyncStatus[] }>('GET', '/api/sysdata/status')).types.find((t) => t.type === 'firewall')!;
  const stopChild2 = async (): Promise<void> => {
    await cluster.stopAgent('child2');
    await waitStatus('child2', 'offline');
  };
  const startChild2 = async (): Promise<void> => {
    cluster.startAgent('child2', CHILD2, false);
    await waitStatus('child2', 'ready');
  };

  before(async () => {
    process.env.FLEETPANEL_SYSDATA_CHECK_INTERVAL_MS = '1000';
    for (const node of NODES) await run('nft', ['delete', 'table', 'inet', firewallTableName(node.address)]).catch(() => undefined);
    info = await cluster.up();
  });

  after(async () => {
    for (const server of servers) server.close();
    await cluster.down();
    for (const node of NODES) await firewallOf(node.alias).remove().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    if (previousInterval === undefined) delete process.env.FLEETPANEL_SYSDATA_CHECK_INTERVAL_MS;
    else process.env.FLEETPANEL_SYSDATA_CHECK_INTERVAL_MS = previousInterval;
  });

  test('a node that is stopped gets a de-sync, and the synchronizer brings it equal when it starts', async () => {
    servers.push(await listen(CHILD1, 2555), await listen(CHILD1, 2556));
    assert.equal(await tryConnect(CHILD1, 2555), 'connected');

    await stopChild2();
    const result = await api<ChangeResult>('POST', '/api/sysdata/firewall', BLOCK_2555);
    assert.deepEqual(result.applied.sort(), ['child1', 'parent']);
    assert.deepEqual(result.desynced, ['child2']);

    const expected = await parentDigest('firewall');
    const digests = await firewallDigests();
    assert.equal(digests.parent, expected);
    assert.equal(digests.child1, expected);
    assert.notEqual(digests.child2, expected);
    const child2 = (await firewallStatus()).nodes.find((n) => n.node === 'child2')!;
    assert.equal(child2.inSync, false);
    assert.match(child2.reason!, /offline when "add block-2555"/);
    assert.ok(child2.since);

    // The rule is enforced by the kernel on the node's own address; other ports still answer.
    assert.equal(await tryConnect(CHILD1, 2555), 'ECONNREFUSED');
    assert.equal(await tryConnect(CHILD1, 2556), 'connected');

    await startChild2();
    assert.deepEqual(await firewallDigests(), { parent: expected, child1: expected, child2: expected });
    assert.ok((await firewallStatus()).nodes.every((n) => n.inSync));
  });

  test('with the policy at 80% and one of three nodes stopped, a change is refused and no node changes', async () => {
    await api('PUT', '/api/sysdata/policy/firewall', { percent: 80 });
    await stopChild2();
    try {
      const before = await firewallDigests();
      const listBefore = await parentDigest('firewall');
      const refused = await refusal(api('POST', '/api/sysdata/firewall', { ...BLOCK_2555, id: 'block-2557', port: 2557 }));
      assert.equal(refused.status, 409);
      assert.match(refused.message, /only 2 of 3 target nodes are ready.*more than 80%.*not ready: child2 \(offline\)/);

      // The CLI says the same in one line and exits with the conflict code.
      const viaCli = await cli(info, ['sysdata', 'firewall', 'add', '--action', 'deny', '--protocol', 'tcp', '--port', '2557', '--source', '0.0.0.0/0']);
      assert.equal(viaCli.code, 6);
      assert.equal(viaCli.stderr.trim().split('\n').length, 1);
      assert.match(viaCli.stderr, /not ready: child2/);

      assert.deepEqual(await firewallDigests(), before);
      assert.equal(await parentDigest('firewall'), listBefore);
    } finally {
      await api('PUT', '/api/sysdata/policy/firewall', { percent: 50 });
      await startChild2();
    }
  });

  test('a node that fails in the middle of a change: it is undone where it went in and the parent keeps its list', async () => {
    // child2's rendered script path becomes a folder: its apply fails for real, after the others applied.
    const script = firewallOf('child2').scriptPath;
    rmSync(script, { force: true });
    mkdirSync(join(script, 'blocker'), { recursive: true });
    try {
      const listBefore = await api<ListView>('GET', '/api/sysdata/firewall');
      const refused = await refusal(api('POST', '/api/sysdata/firewall', { ...BLOCK_2555, id: 'block-2600', port: 2600 }));
      assert.ok(refused.status >= 400);
      assert.match(refused.message, /failed on child2.*undone/);

      const after = await api<ListView>('GET', '/api/sysdata/firewall');
      assert.deepEqual(after, listBefore);
      for (const alias of ['parent', 'child1', 'child2'] as const) {
        const held = await firewallOf(alias).read();
        assert.ok(!held.some((rule) => rule.id === 'block-2600'), `${alias} still holds the refused rule`);
        assert.equal(await nodeDigest(firewallOf(alias)), listBefore.digest, `${alias} differs from the parent`);
      }
    } finally {
      rmSync(script, { recursive: true, force: true });
    }
    await waitFor(async () => (await firewallStatus()).nodes.every((n) => n.inSync), 20_000, 'every node in sync again');
  });

  test('a rule added by hand on a node is removed by the periodic check', async () => {
    const table = firewallTableName(CHILD1);
    await run('nft', ['add', 'rule', 'inet', table, 'input', 'tcp', 'dport', '2999', 'drop']);
    assert.notEqual(await nodeDigest(firewallOf('child1')), await parentDigest('firewall'));
    const expected = await parentDigest('firewall');
    await waitFor(async () => (await nodeDigest(firewallOf('child1'))) === expected, 15_000, 'the periodic check to repair child1');
    assert.doesNotMatch((await run('nft', ['list', 'table', 'inet', table])).stdout, /dport 2999 drop/);
    assert.ok((await firewallStatus()).nodes.every((n) => n.inSync));
  });

  test('the CLI adds, lists, reports and removes scheduled tasks on every node', async () => {
    const added = await cli(info, ['--json', 'sysdata', 'scheduler', 'add', '--schedule', '*/5 * * * *', '--command', '/usr/bin/true', '--user', 'root']);
    assert.equal(added.code, 0, added.stderr);
    const result = JSON.parse(added.stdout) as ChangeResult & { item: { id: string } };
    assert.match(result.item.id, /^task-[0-9a-f]{8}$/);
    assert.deepEqual(result.applied.sort(), ['child1', 'child2', 'parent']);
    for (const node of NODES) {
      const cron = new SchedulerDriver({ layout: new NodeLayout(cluster.nodeRoot(node.alias)), address: node.address });
      assert.match(readFileSync(cron.cronFilePath, 'utf8'), /^\*\/5 \* \* \* \* root \/usr\/bin\/true$/m);
    }

    const listed = await cli(info, ['sysdata', 'scheduler', 'list']);
    assert.match(listed.stdout, new RegExp(result.item.id));
    const status = await cli(info, ['--json', 'sysdata', 'status']);
    const types = JSON.parse(status.stdout) as TypeSyncStatus[];
    assert.deepEqual(types.map((t) => t.type), ['firewall', 'whitelist', 'blacklist', 'scheduler']);
    assert.ok(types.every((t) => t.nodes.length === 3 && t.nodes.every((n) => n.inSync)));
    const human = await cli(info, ['sysdata', 'status']);
    assert.match(human.stdout, /scheduler\s+child2\s+ready\s+in sync/);

    const removed = await cli(info, ['sysdata', 'scheduler', 'remove', result.item.id]);
    assert.equal(removed.code, 0, removed.stderr);
    const missing = await cli(info, ['sysdata', 'scheduler', 'remove', result.item.id]);
    assert.equal(missing.code, 5);
    const invalid = await cli(info, ['sysdata', 'firewall', 'add', '--action', 'deny', '--protocol', 'tcp', '--port', '7443', '--source', '0.0.0.0/0']);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /would lock the panel out/);
  });

  test('a hand-made cron line is repaired too, and the files stay inside each node root', () => {
    for (const node of NODES) {
      const cron = new SchedulerDriver({ layout: new NodeLayout(cluster.nodeRoot(node.alias)), address: node.address });
      assert.ok(cron.cronFilePath.startsWith(cluster.nodeRoot(node.alias)));
      assert.ok(existsSync(cron.cronFilePath));
    }
    const path = new SchedulerDriver({ layout: new NodeLayout(cluster.nodeRoot('child2')), address: CHILD2 }).cronFilePath;
    writeFileSync(path, `${readFileSync(path, 'utf8')}* * * * * root /bin/echo by-hand\n`);
    return waitFor(() => !readFileSync(path, 'utf8').includes('by-hand'), 15_000, 'the hand-made cron line to be removed');
  });
});
