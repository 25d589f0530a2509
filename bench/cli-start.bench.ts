/**
 * What a CLI command costs from the shell: `./fleetpanel plan list` (one API call to a parent
 * started here) against a bare `node -e 0`, median of 10 runs each, alternated in the same run so
 * both see the same machine load. The CLI as it ran before (TypeScript compiled at each start
 * through tsx) is shown once more for comparison. Numbers are printed, never asserted.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { startParent } from '../src/parent/parent.server.ts';
import { CLI_ENTRY, CLI_LAUNCHER } from '../src/demo/processes.ts';
import { TEST_NET } from '../test/test-net.ts';
import { median } from './median.ts';

const HOST = process.env.BENCH_ADDRESS ?? `${TEST_NET}.43.9`;
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const ADMIN_PASSWORD = 'admin-quartz-lantern-meadow-42';
const run = promisify(execFile);

async function timed(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const started = performance.now();
  await run(file, args, { env: { ...env, NODE_OPTIONS: '' } });
  return performance.now() - started;
}

const dataDir = mkdtempSync(join(tmpdir(), 'fleetpanel-bench-cli-'));
const parent = await startParent({ dataDir, host: HOST, port: 0, adminPassword: ADMIN_PASSWORD, healthIntervalMs: 3_600_000 });
try {
  const url = `http://${HOST}:${(parent.app.server.address() as AddressInfo).port}`;
  const login = await fetch(`${url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
  const { token } = (await login.json()) as { token: string };
  const env = { ...process.env, FLEETPANEL_URL: url, FLEETPANEL_TOKEN: token, FLEETPANEL_CONTEXT: join(dataDir, 'none.json') };
  const command = ['plan', 'list', '--json'];

  // The first start builds dist/cli when src/ changed; that is not what is measured.
  await timed(CLI_LAUNCHER, command, env);
  const cli: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(await timed(process.execPath, ['-e', '0']));
    cli.push(await timed(CLI_LAUNCHER, command, env));
  }
  const viaTsx: number[] = [];
  for (let i = 0; i < 3; i++) viaTsx.push(await timed(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...command], env));

  const cliMs = median(cli);
  const bareMs = median(bare);
  console.log(`cli-start: \`fleetpanel ${command.join(' ')}\` (one API call) vs \`node -e 0\`, median of ${RUNS} each, alternated`);
  console.log(`  node -e 0:                       ${bareMs.toFixed(0)} ms`);
  console.log(`  ./fleetpanel (compiled build):   ${cliMs.toFixed(0)} ms`);
  console.log(`  through tsx (as before), of 3:   ${median(viaTsx).toFixed(0)} ms`);
  console.log(`ratio: the command takes ${(cliMs / bareMs).toFixed(2)}x node -e 0 (target: within 3x); through tsx it took ${(median(viaTsx) / bareMs).toFixed(1)}x`);
} finally {
  await parent.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
