/**
 * How fast accounts are created through the API on a real cluster, where each creation sets up
 * every registered workload on the parent's node (Postfix + Dovecot for mail, nginx + php-fpm for
 * web, a PowerDNS zone for DNS), and what one more account costs as the node fills up. All in one
 * run, each figure against its baseline from the same run:
 * - accounts/s one at a time, and with BENCH_IN_FLIGHT (16) creations in flight: the ratio;
 * - one account created alone on a node holding 0, 500 and 2,000 accounts (median of
 *   BENCH_SAMPLES): the ratio to the cost on the empty node;
 * - one bare reload of the same daemons (`postfix reload` + `doveadm reload` + `nginx -s reload`).
 * Numbers are printed, never asserted. BENCH_ACCOUNTS (200) per rate (0 leaves the rates out),
 * BENCH_LEVELS ("0,500,2000"). The node is filled between levels with BENCH_FILL_IN_FLIGHT (64)
 * creations in flight, so they reach the node in large batches (one check and reload of each
 * daemon per batch); the fill is not what is measured, only the single creations after it.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { loadavg } from 'node:os';
import { startTestCluster } from '../test/e2e/cluster-fixture.ts';
import { NodeLayout } from '../src/agent/node-layout.ts';
import { mailPaths } from '../src/mail/mail-paths.ts';
import { TEST_NET } from '../test/test-net.ts';
import { median } from './median.ts';

const BLOCK = process.env.BENCH_BLOCK ?? `${TEST_NET}.87`;
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 200);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 16);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 5);
const LEVELS = (process.env.BENCH_LEVELS ?? '0,500,2000').split(',').map(Number);
const RELOAD_ROUNDS = Number(process.env.BENCH_RELOADS ?? 10);
const FILL_IN_FLIGHT = Number(process.env.BENCH_FILL_IN_FLIGHT ?? 64);
const PASSWORD = 'violet-tugboat-marmalade-91';

const run = promisify(execFile);

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

const cluster = await startTestCluster({ block: BLOCK, healthIntervalMs: 5000 });
// A long run stopped by hand still stops its daemons and removes its system users.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cluster.teardown().finally(() => process.exit(130)));
}
try {
  const { url, token } = cluster.info;
  let created = 0;
  const createOne = async (): Promise<void> => {
    const n = created++;
    const body = { username: `bench${n}`, domain: `bench${n}-site.test`, password: PASSWORD };
    const response = await fetch(`${url}/api/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`creating ${body.username}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  };
  /** `count` creations with `inFlight` of them under way at any time; returns the elapsed ms. */
  const createMany = (count: number, inFlight: number): Promise<number> =>
    timed(async () => {
      let left = count;
      await Promise.all(
        Array.from({ length: Math.min(inFlight, count) }, async () => {
          while (left > 0) {
            left--;
            await createOne();
          }
        }),
      );
    });

  const layout = new NodeLayout(cluster.cluster.nodeRoot('parent'));
  const mail = mailPaths(layout);
  const nginxArgs = ['-p', `${layout.etc('nginx')}/`, '-c', layout.etc('nginx', 'nginx.conf'), '-e', layout.log('nginx-error')];
  const bareReload = async (): Promise<void> => {
    await run('postfix', ['-c', mail.postfix.configDir, 'reload']);
    await run('doveadm', ['-c', mail.dovecot.configFile, 'reload']);
    await run('nginx', ['-s', 'reload', ...nginxArgs]);
  };
  await bareReload();
  const reloads: number[] = [];
  for (let i = 0; i < RELOAD_ROUNDS; i++) reloads.push(await timed(bareReload));

  const costAt: { level: number; ms: number }[] = [];
  const sampleCost = async (level: number): Promise<void> => {
    // Fills the node up to `level` accounts with creations in flight (not measured), then times single ones.
    if (created < level) {
      const fill = level - created;
      const fillMs = await createMany(fill, FILL_IN_FLIGHT);
      console.log(`  filled ${fill} accounts with ${FILL_IN_FLIGHT} in flight in ${(fillMs / 1000).toFixed(1)} s (${((fill / fillMs) * 1000).toFixed(2)} accounts/s)`);
    }
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) samples.push(await timed(createOne));
    costAt.push({ level, ms: median(samples) });
    console.log(`  one account on a node holding ${level}: median of ${SAMPLES} ${median(samples).toFixed(0)} ms (each: ${samples.map((ms) => ms.toFixed(0)).join(', ')}; load average ${loadavg()[0]!.toFixed(1)})`);
  };

  console.log(`accounts-create: cluster on ${BLOCK}.x, each account with mail, web and DNS on the parent's node`);
  await sampleCost(LEVELS[0]!);
  const sequentialMs = ACCOUNTS > 0 ? await createMany(ACCOUNTS, 1) : 0;
  const parallelMs = ACCOUNTS > 0 ? await createMany(ACCOUNTS, IN_FLIGHT) : 0;
  for (const level of LEVELS.slice(1)) await sampleCost(level);

  if (ACCOUNTS > 0) {
    const sequentialRate = (ACCOUNTS / sequentialMs) * 1000;
    const parallelRate = (ACCOUNTS / parallelMs) * 1000;
    console.log(`  ${ACCOUNTS} accounts one at a time:        ${(sequentialMs / 1000).toFixed(1)} s = ${sequentialRate.toFixed(2)} accounts/s`);
    console.log(`  ${ACCOUNTS} accounts ${IN_FLIGHT} in flight:          ${(parallelMs / 1000).toFixed(1)} s = ${parallelRate.toFixed(2)} accounts/s (target: at least 10)`);
    console.log(`ratio: ${IN_FLIGHT} in flight create ${(parallelRate / sequentialRate).toFixed(2)}x as many accounts per second as one at a time`);
  }
  const base = costAt[0]!;
  for (const { level, ms } of costAt.slice(1)) {
    console.log(`ratio: one account on a node holding ${level} costs ${(ms / base.ms).toFixed(2)}x one on a node holding ${base.level} (target: within 1.5x)`);
  }
  console.log(`one bare reload (postfix + doveadm + nginx), median of ${reloads.length} on the empty node: ${median(reloads).toFixed(0)} ms; one account alone there costs ${(base.ms / median(reloads)).toFixed(2)}x that`);
  console.log(`(${created} accounts created in all)`);
} finally {
  await cluster.teardown();
}
