/**
 * What one nginx reload costs a change as the node fills up: NginxDriver.reload() (SIGHUP, then
 * the new configuration's workers up and the old ones shutting down: what a change waits for) of
 * a running nginx holding BENCH_SITES (2,000) PHP sites as the agent renders them (sites with the
 * default settings: entries in the shared server's map), against the same nginx holding none, in
 * the same run. Then the same sites each with settings of its own, which gives each a server block
 * and two locations (what every site had before the shared server), with and without their log
 * lines and locations, to show what the master's parse pays for. Numbers are printed, never asserted.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NodeLayout } from '../src/agent/node-layout.ts';
import { NginxDriver } from '../src/web/nginx.driver.ts';
import { renderServerFiles } from '../src/web/nginx-config.ts';
import { DEFAULT_PHP_SETTINGS } from '../src/php/php-settings.ts';
import { TEST_NET } from '../test/test-net.ts';
import { median } from './median.ts';

const SITES = Number(process.env.BENCH_SITES ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ADDRESS = `${TEST_NET}.99.15`;

const workDir = mkdtempSync(join(tmpdir(), 'fleet-bench-nginx-reload-'));
const layout = new NodeLayout(join(workDir, 'node'));
layout.ensure();
const nginx = new NginxDriver({ layout, address: ADDRESS, log: () => undefined });
try {
  const sites = Array.from({ length: SITES }, (_, n) => {
    const domain = `bench${n}-site.test`;
    const logDir = layout.www(`bench${n}`, 'logs');
    mkdirSync(logDir, { recursive: true });
    return { domain, account: `bench${n}`, suspended: false, documentRoot: layout.www(`bench${n}`, domain, 'public_html'), php: { socket: layout.run('php', `bench${n}.sock`), logDir, settings: DEFAULT_PHP_SETTINGS } };
  });
  const shared = renderServerFiles({ address: ADDRESS, paths: nginx.paths, state: { sites, proxies: [] } });
  const ownSettings = { ...DEFAULT_PHP_SETTINGS, memoryLimitMb: DEFAULT_PHP_SETTINGS.memoryLimitMb * 2 };
  const own = renderServerFiles({ address: ADDRESS, paths: nginx.paths, state: { sites: sites.map((site) => ({ ...site, php: { ...site.php, settings: ownSettings } })), proxies: [] } });
  const variants: Record<string, [Map<string, string>, (file: string) => string] | undefined> = {
    'no sites': undefined,
    [`${SITES} sites (shared server)`]: [shared, (file) => file],
    [`${SITES} sites of their own settings (a server block each)`]: [own, (file) => file],
    [`${SITES} sites of their own settings without their access_log and error_log lines`]: [own, (file) => file.replace(/^ *(access|error)_log .*\n/gm, '')],
    [`${SITES} sites of their own settings without their two locations`]: [own, (file) => file.replace(/^ {4}location [^]*?^ {4}\}\n/gm, '')],
  };
  mkdirSync(nginx.paths.sitesDir, { recursive: true });
  await nginx.start();
  const timings = new Map<string, number>();
  for (const [label, variant] of Object.entries(variants)) {
    for (const name of readdirSync(nginx.paths.sitesDir)) rmSync(join(nginx.paths.sitesDir, name));
    if (variant) for (const [name, contents] of variant[0]) writeFileSync(join(nginx.paths.sitesDir, name), variant[1](contents));
    await nginx.reload();
    const samples: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      await nginx.reload();
      samples.push(performance.now() - started);
    }
    timings.set(label, median(samples));
    console.log(`  ${label}: one reload, median of ${ROUNDS}: ${median(samples).toFixed(0)} ms (each: ${samples.map((s) => s.toFixed(0)).join(', ')})`);
  }
  const [empty, ...rest] = [...timings];
  for (const [label, ms] of rest) console.log(`nginx-reload: ${label} / no sites: ${(ms / empty![1]).toFixed(2)}x`);
} finally {
  await nginx.stop();
  rmSync(workDir, { recursive: true, force: true });
}
