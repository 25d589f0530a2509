/**
 * What mutual TLS costs on a parent-to-agent call: one agent (started with --plain-port), linked
 * to a throw-away parent identity, called N times in a row and N times with several in flight,
 * over mTLS through AgentClient and over plain HTTP, in the same run. Prints p50/p99 latency and
 * the mTLS/plain ratios. Numbers are printed, never asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { startCliBackground, stopByPidFile } from '../src/demo/processes.ts';
import { waitFor } from '../src/agent/daemon-process.ts';
import { NodeLayout } from '../src/agent/node-layout.ts';
import { openStore } from '../src/store/database.ts';
import { CertificateAuthority } from '../src/transport/ca.ts';
import { NodesRepository } from '../src/nodes/nodes.repository.ts';
import { NodeConnections } from '../src/nodes/node-connections.ts';
import { NodesService } from '../src/nodes/nodes.service.ts';
import { existsSync, readFileSync } from 'node:fs';
import { AGENT_ROUTES } from '../src/protocol/agent-routes.ts';

const ADDRESS = process.env.BENCH_ADDRESS ?? '127.0.99.1';
const AGENT_PORT = 7443;
const PLAIN_PORT = 7080;
const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const IN_FLIGHT = Number(process.env.BENCH_CONCURRENCY ?? 16);
const WARMUP = 200;

interface Stats {
  p50: number;
  p99: number;
  perSecond: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(call: () => Promise<void>, calls: number, inFlight: number): Promise<Stats> {
  for (let i = 0; i < WARMUP; i++) await call();
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < calls) {
      next++;
      const t0 = performance.now();
      await call();
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), perSecond: (calls / elapsed) * 1000 };
}

const fmt = (ms: number): string => `${ms.toFixed(3)} ms`;

const dir = mkdtempSync(join(tmpdir(), 'fleetpanel-bench-'));
const pidFile = join(dir, 'agent.pid');
const root = join(dir, 'node');
const store = await openStore(join(dir, 'parent.sqlite'));
const plainDispatcher = new Agent({ connections: 8, keepAliveTimeout: 10_000 });
let nodes: NodesService | undefined;
let connections: NodeConnections | undefined;
try {
  startCliBackground(pidFile, join(dir, 'agent.log'), ['agent', '--root', root, '--address', ADDRESS, '--port', String(AGENT_PORT), '--plain-port', String(PLAIN_PORT)]);
  const tokenFile = new NodeLayout(root).agent('link-token.txt');
  await waitFor(() => existsSync(tokenFile), 60_000, `the agent on ${ADDRESS} (log: ${join(dir, 'agent.log')})`);

  const ca = await CertificateAuthority.open(join(dir, 'ca'), 'bench');
  const repo = new NodesRepository(store.db);
  connections = new NodeConnections(repo, { caCertPem: ca.caCertPem, clientCertPem: ca.clientCertPem, clientKeyPem: ca.clientKeyPem });
  nodes = new NodesService(repo, connections, ca, 'bench', 60_000);
  await nodes.link({ alias: 'bench', host: ADDRESS, token: readFileSync(tokenFile, 'utf8').trim(), roles: [] });
  nodes.stop();
  const client = await connections.forAlias('bench');

  const mtlsHealth = async (): Promise<void> => void (await client.send(AGENT_ROUTES.health));
  const mtlsPing = async (): Promise<void> => void (await client.send(AGENT_ROUTES.ping));
  const plainPing = async (): Promise<void> => {
    const response = await request(`http://${ADDRESS}:${PLAIN_PORT}/v1/ping`, { dispatcher: plainDispatcher });
    await response.body.json();
  };

  console.log(`agent-call: ${CALLS} calls per case after ${WARMUP} warm-up calls; one agent on ${ADDRESS}, keep-alive connections on both sides`);
  for (const [label, inFlight] of [
    ['sequential', 1],
    [`concurrent (${IN_FLIGHT} in flight)`, IN_FLIGHT],
  ] as const) {
    const health = await measure(mtlsHealth, CALLS, inFlight);
    const ping = await measure(mtlsPing, CALLS, inFlight);
    const plain = await measure(plainPing, CALLS, inFlight);
    console.log(`\n${label}`);
    console.log(`  mTLS  /v1/health (AgentClient)  p50 ${fmt(health.p50)}  p99 ${fmt(health.p99)}  ${health.perSecond.toFixed(0)} calls/s`);
    console.log(`  mTLS  /v1/ping   (AgentClient)  p50 ${fmt(ping.p50)}  p99 ${fmt(ping.p99)}  ${ping.perSecond.toFixed(0)} calls/s`);
    console.log(`  plain /v1/ping   (HTTP)         p50 ${fmt(plain.p50)}  p99 ${fmt(plain.p99)}  ${plain.perSecond.toFixed(0)} calls/s`);
    console.log(`  ratio mTLS health / plain ping: p50 ${(health.p50 / plain.p50).toFixed(2)}x  p99 ${(health.p99 / plain.p99).toFixed(2)}x`);
    console.log(`  ratio mTLS ping   / plain ping: p50 ${(ping.p50 / plain.p50).toFixed(2)}x  p99 ${(ping.p99 / plain.p99).toFixed(2)}x`);
  }
} finally {
  nodes?.stop();
  await connections?.closeAll();
  await plainDispatcher.close();
  await store.close();
  await stopByPidFile(pidFile);
  rmSync(dir, { recursive: true, force: true });
}
