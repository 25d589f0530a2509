/**
 * How fast accounts are created through the API on a real cluster, where each creation writes,
 * checks and reloads the real daemons of every registered workload (Postfix + Dovecot for mail,
 * nginx for web, a PowerDNS zone for DNS). The reference is the cost of one bare reload of the
 * same daemons (`postfix reload` + `doveadm reload` + `nginx -s reload`, run directly against the
 * parent node's instances) measured in the same run, so the ratio says how many bare reloads'
 * worth of time one account costs. Numbers are printed, never asserted.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { startTestCluster } from '../test/e2e/cluster-fixture.ts';
import { NodeLayout } from '../src/agent/node-layout.ts';
import { mailPaths } from '../src/mail/mail-paths.ts';

const BLOCK = process.env.BENCH_BLOCK ?? '127.0.87';
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 200);
const RELOAD_ROUNDS = Number(process.env.BENCH_RELOADS ?? 30);
const PASSWORD = 'violet-tugboat-marmalade-91';

const run = promisify(execFile);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

const cluster = await startTestCluster({ block: BLOCK, healthIntervalMs: 5000 });
try {
  const { url, token } = cluster.info;
  const api = async (method: string, path: string, body?: unknown): Promise<void> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  };

  const layout = new NodeLayout(cluster.cluster.nodeRoot('parent'));
  const mail = mailPaths(layout);
  const nginxArgs = ['-p', `${layout.etc('nginx')}/`, '-c', layout.etc('nginx', 'nginx.conf'), '-e', layout.log('nginx-error')];
  const bareReload = async (): Promise<void> => {
    await run('postfix', ['-c', mail.postfix.configDir, 'reload']);
    await run('doveadm', ['-c', mail.dovecot.configFile, 'reload']);
    await run('nginx', ['-s', 'reload', ...nginxArgs]);
  };

  // One warm-up of each, so neither side pays for the first exec of a binary.
  await bareReload();
  await api('POST', '/api/accounts', { username: 'warmup', domain: 'warmup-bench.test', password: PASSWORD });

  const reloads: number[] = [];
  for (let i = 0; i < RELOAD_ROUNDS / 2; i++) reloads.push(await timed(bareReload));

  const perAccount: number[] = [];
  const started = performance.now();
  for (let i = 0; i < ACCOUNTS; i++) {
    perAccount.push(await timed(() => api('POST', '/api/accounts', { username: `bench${i}`, domain: `bench${i}-site.test`, password: PASSWORD })));
  }
  const elapsedMs = performance.now() - started;

  // The second half of the reloads runs against daemons that now serve 200 more domains.
  for (let i = 0; i < RELOAD_ROUNDS / 2; i++) reloads.push(await timed(bareReload));

  const reloadMs = median(reloads);
  const accountMs = elapsedMs / ACCOUNTS;
  const sorted = [...perAccount].sort((a, b) => a - b);
  console.log(`accounts created through the API: ${ACCOUNTS} in ${(elapsedMs / 1000).toFixed(2)} s = ${((ACCOUNTS / elapsedMs) * 1000).toFixed(2)} accounts/s`);
  console.log(`  per account: mean ${accountMs.toFixed(1)} ms, p50 ${median(perAccount).toFixed(1)} ms, p99 ${sorted[Math.floor(sorted.length * 0.99)]!.toFixed(1)} ms, first ${perAccount[0]!.toFixed(1)} ms, last ${perAccount.at(-1)!.toFixed(1)} ms`);
  console.log(`one bare reload (postfix reload + doveadm reload + nginx -s reload), median of ${reloads.length}: ${reloadMs.toFixed(1)} ms`);
  console.log(`ratio: one account costs ${(accountMs / reloadMs).toFixed(2)}x one bare reload of the same daemons`);
  console.log(`(cluster folder ${join(cluster.dir)})`);
} finally {
  await cluster.teardown();
}
