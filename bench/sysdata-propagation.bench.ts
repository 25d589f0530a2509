/**
 * How long a system-data change takes from the parent's API to being applied on 100 agents,
 * against the 60-second change-log poll that peers use.
 *
 * 100 real agents (the agent server with its mTLS surface and the sysdata module, each with its
 * own node root) listen on 127.0.35.2 to 127.0.35.101. 100 Node processes do not fit in 2 cores
 * and the memory here, so they run 25 agents per process in 4 processes; the parent runs in this
 * process on 127.0.35.1. The scheduler type is used because its driver writes only a file in the
 * node root (no kernel state to clean up). A change counts as applied when the API answers: the
 * distributed query returns only after every agent wrote and read back its cron file, and each
 * node's file is checked afterwards.
 *
 * Run: node --import tsx bench/sysdata-propagation.bench.ts [changes=20]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startAgent, type RunningAgent } from '../src/agent/agent.server.ts';
import { waitFor } from '../src/agent/daemon-process.ts';
import { NodeLayout } from '../src/agent/node-layout.ts';
import { startParent } from '../src/parent/parent.server.ts';
import { sysdataAgentModule } from '../src/sysdata/sysdata.agent-module.ts';
import { SchedulerDriver } from '../src/sysdata/scheduler.driver.ts';

const AGENTS = 100;
const PROCESSES = 4;
const PARENT_ADDRESS = '127.0.35.1';
const POLL_INTERVAL_MS = 60_000;
const agentAddress = (index: number): string => `127.0.35.${index + 2}`;
const agentRoot = (dir: string, index: number): string => join(dir, 'nodes', `a${index}`);

/** Worker mode: run agents [first, first+count) until SIGTERM. */
async function runAgents(dir: string, first: number, count: number): Promise<void> {
  const agents: RunningAgent[] = [];
  for (let index = first; index < first + count; index++) {
    agents.push(await startAgent({ root: agentRoot(dir, index), address: agentAddress(index), port: 7443, modules: [sysdataAgentModule], log: () => undefined }));
  }
  process.stdout.write('agents listening\n');
  process.once('SIGTERM', () => {
    void Promise.all(agents.map((agent) => agent.stop())).finally(() => process.exit(0));
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(changes: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetpanel-sysdata-bench-'));
  const workers: ChildProcess[] = [];
  let stopParent: (() => Promise<void>) | undefined;
  try {
    const perProcess = AGENTS / PROCESSES;
    for (let p = 0; p < PROCESSES; p++) {
      const worker = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--agents', dir, String(p * perProcess), String(perProcess)], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, NODE_OPTIONS: '' },
      });
      workers.push(worker);
    }
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            worker.stdout!.on('data', (chunk: Buffer) => {
              if (chunk.toString().includes('agents listening')) resolve();
            });
            worker.once('exit', (code) => reject(new Error(`an agent process exited with ${code}`)));
          }),
      ),
    );

    const password = 'bench-admin-password-1';
    const parent = await startParent({ dataDir: join(dir, 'parent'), host: PARENT_ADDRESS, port: 8080, adminPassword: password, healthIntervalMs: 5000 });
    stopParent = () => parent.stop();
    const api = async <T>(method: 'POST' | 'GET', path: string, body: unknown, token?: string): Promise<T> => {
      const response = await request(`${parent.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const parsed = (await response.body.json()) as T & { message?: string };
      if (response.statusCode >= 400) throw new Error(`${path}: ${parsed.message}`);
      return parsed;
    };
    const { token } = await api<{ token: string }>('POST', '/api/session', { username: 'admin', password });

    const linkStarted = Date.now();
    const indexes = [...Array(AGENTS).keys()];
    for (let batch = 0; batch < AGENTS; batch += 10) {
      await Promise.all(
        indexes.slice(batch, batch + 10).map(async (index) => {
          const linkToken = readFileSync(new NodeLayout(agentRoot(dir, index)).agent('link-token.txt'), 'utf8').trim();
          // The database role has no daemon in these agents and no mail lists: only firewall and scheduler apply.
          await parent.services.nodes.link({ alias: `a${index}`, host: agentAddress(index), token: linkToken, roles: ['database'] });
        }),
      );
    }
    await waitFor(async () => (await parent.services.nodes.list()).every((node) => node.status === 'ready'), 300_000, `all ${AGENTS} nodes to be ready`);
    process.stderr.write(`${AGENTS} agents linked and ready in ${((Date.now() - linkStarted) / 1000).toFixed(1)} s\n`);

    const cronFiles = indexes.map((index) => new SchedulerDriver({ layout: new NodeLayout(agentRoot(dir, index)), address: agentAddress(index) }).cronFilePath);
    const samples: number[] = [];
    for (let change = 0; change < changes + 2; change++) {
      const id = `bench-${change}`;
      const started = process.hrtime.bigint();
      const result = await api<{ applied: string[]; desynced: string[] }>('POST', '/api/sysdata/scheduler', { id, schedule: '@daily', command: `/usr/bin/true ${change}`, user: 'root' }, token);
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (result.applied.length !== AGENTS) throw new Error(`change ${id} reached ${result.applied.length} of ${AGENTS} agents`);
      const missing = cronFiles.filter((file) => !existsSync(file) || !readFileSync(file, 'utf8').includes(`# fleetpanel-id: ${id}`));
      if (missing.length > 0) throw new Error(`change ${id}: ${missing.length} node(s) do not hold it`);
      // The first two warm up connections and JIT; they are not counted.
      if (change >= 2) samples.push(elapsedMs);
    }

    const sorted = [...samples].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    const lines = [
      `sysdata propagation: ${changes} changes (scheduler, growing list), parent -> ${AGENTS} agents over mTLS (${PROCESSES} processes x ${perProcess} agents, 2 cores)`,
      `  p50 ${p50.toFixed(1)} ms   p99 ${p99.toFixed(1)} ms   min ${sorted[0]!.toFixed(1)} ms   max ${sorted.at(-1)!.toFixed(1)} ms`,
      `  against a ${POLL_INTERVAL_MS / 1000} s poll interval: ${(POLL_INTERVAL_MS / p50).toFixed(0)}x sooner at p50, ${(POLL_INTERVAL_MS / p99).toFixed(0)}x at p99` +
        ` (a poller's average wait is half the interval: ${(POLL_INTERVAL_MS / 2 / p50).toFixed(0)}x at p50)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await stopParent?.();
    for (const worker of workers) {
      if (worker.exitCode === null) {
        worker.kill('SIGTERM');
        await new Promise((resolve) => worker.once('exit', resolve));
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--agents') {
  await runAgents(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
} else {
  await main(Number(process.argv[2] ?? 20));
}
