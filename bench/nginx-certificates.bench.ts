/**
 * What a node's certificates cost each nginx check and reload as the node fills up: `nginx -t`
 * of the configuration the agent renders for BENCH_SITES (2,000) PHP sites and their webmail
 * hosts, with a certificate include for every host name (domain, www., webmail.), in the layout
 * the certificates module writes now (a folder per host) against the one it wrote before (every
 * host's file in one folder, which nginx's include glob reads whole once per server block), and
 * against no certificates at all, in the same run. Every host uses one certificate: nginx loads
 * it once per server block all the same. Numbers are printed, never asserted.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { NodeLayout } from '../src/agent/node-layout.ts';
import { nginxTlsIncludeFile, renderNginxTlsInclude, tlsFilePaths } from '../src/agent/tls-files.ts';
import { NginxDriver } from '../src/web/nginx.driver.ts';
import { renderServerFiles } from '../src/web/nginx-config.ts';
import { WebmailDriver } from '../src/webmail/webmail.driver.ts';
import { renderWebmailServers } from '../src/webmail/webmail-config.ts';
import { DEFAULT_PHP_SETTINGS } from '../src/php/php-settings.ts';
import { median } from './median.ts';

const SITES = Number(process.env.BENCH_SITES ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ADDRESS = '127.0.99.14';
const run = promisify(execFile);

const workDir = mkdtempSync(join(tmpdir(), 'fleet-bench-nginx-tls-'));
try {
  const layout = new NodeLayout(join(workDir, 'node'));
  layout.ensure();
  const context = { layout, address: ADDRESS, log: () => undefined };
  const nginx = new NginxDriver(context);
  const webmail = new WebmailDriver(context, { nginx: () => undefined, heldDomains: () => [] });
  const tls = tlsFilePaths(layout);
  for (const dir of [nginx.paths.sitesDir, nginx.paths.extraServersDir, nginx.paths.tempDir, dirname(nginx.paths.pidFile), dirname(nginx.paths.errorLog), tls.nginxDir, join(workDir, 'cert')]) {
    mkdirSync(dir, { recursive: true });
  }

  const chainFile = join(workDir, 'cert', 'fullchain.pem');
  const keyFile = join(workDir, 'cert', 'privkey.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', chainFile, '-days', '30', '-subj', '/CN=bench.test']);

  const domains = Array.from({ length: SITES }, (_, n) => `bench${n}-site.test`);
  const sites = domains.map((domain, n) => ({
    domain,
    account: `bench${n}`,
    suspended: false,
    documentRoot: layout.www(`bench${n}`, domain, 'public_html'),
    php: { socket: layout.run('php', `bench${n}.sock`), logDir: layout.www(`bench${n}`, 'logs'), settings: DEFAULT_PHP_SETTINGS },
  }));
  // nginx opens each site's own logs at a check too.
  for (const site of sites) mkdirSync(site.php.logDir, { recursive: true });
  const servers = renderServerFiles({ address: ADDRESS, paths: nginx.paths, state: { sites, proxies: [] } });
  for (const [name, contents] of servers) writeFileSync(join(nginx.paths.sitesDir, name), contents);
  for (const [name, contents] of renderWebmailServers({ address: ADDRESS, paths: webmail.paths, domains })) writeFileSync(join(nginx.paths.extraServersDir, name), contents);
  writeFileSync(nginx.configFile, nginx.renderMain());

  const hosts = domains.flatMap((domain) => [domain, `www.${domain}`, `webmail.${domain}`]);
  const include = renderNginxTlsInclude({ domain: 'bench.test', names: [], chainFile, keyFile });
  const serverFiles = (): string[] => [nginx.paths.sitesDir, nginx.paths.extraServersDir].flatMap((dir) => readdirSync(dir).map((name) => join(dir, name)));
  const layouts: Record<string, () => void> = {
    'no certificates': () => rmSync(tls.nginxDir, { recursive: true, force: true }),
    'a folder per host (now)': () => {
      for (const host of hosts) {
        mkdirSync(join(tls.nginxDir, host), { recursive: true });
        writeFileSync(nginxTlsIncludeFile(tls, host), include);
      }
    },
    'one folder (before)': () => {
      mkdirSync(tls.nginxDir, { recursive: true });
      for (const host of hosts) writeFileSync(join(tls.nginxDir, `${host}.conf`), include);
      // The include lines as that version rendered them.
      for (const file of serverFiles()) writeFileSync(file, readFileSync(file, 'utf8').replace(/include (\S+)\/([^/\s]+)\/\*\.conf;/g, 'include $1/$2.conf*;'));
    },
  };

  const timings = new Map<string, number>();
  for (const [label, prepare] of Object.entries(layouts)) {
    rmSync(tls.nginxDir, { recursive: true, force: true });
    prepare();
    const samples: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      await run('nginx', ['-t', '-q', '-p', nginx.prefix, '-c', nginx.configFile, '-e', 'stderr']);
      samples.push(performance.now() - started);
    }
    timings.set(label, median(samples));
    console.log(`  ${label}: nginx -t of ${SITES} sites and their webmail hosts, median of ${ROUNDS}: ${median(samples).toFixed(0)} ms (each: ${samples.map((s) => s.toFixed(0)).join(', ')})`);
  }
  const now = timings.get('a folder per host (now)')!;
  console.log(`nginx-certificates: one folder / a folder per host: ${(timings.get('one folder (before)')! / now).toFixed(2)}x; a folder per host / no certificates: ${(now / timings.get('no certificates')!).toFixed(2)}x`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
