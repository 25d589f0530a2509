/**
 * What a node's certificates cost each nginx check and reload as the node fills up: `nginx -t`
 * of the configuration the agent renders for BENCH_SITES (2,000) PHP sites of settings of their
 * own (a server block each) and webmail's one server block, with a certificate for every host
 * name (domain, www., webmail.) and without, in the
 * design of now (one certificate map, read by the default server's one OpenSSL context at the
 * handshake) against the one before (a certificate in each server block, through a per-host
 * include, and the node's certificate named at the http level, so nginx built a context for
 * every block), in the same run. Then the price of now: TLS handshakes per second against a
 * running nginx of each design, since now each handshake loads its certificate and key from the
 * file. Every host uses one certificate. Numbers are printed, never asserted.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { NodeLayout } from '../src/agent/node-layout.ts';
import { nginxCertificateMapEntryFile, renderNginxCertificateMapEntry, tlsFilePaths } from '../src/agent/tls-files.ts';
import { NginxDriver } from '../src/web/nginx.driver.ts';
import { renderServerFiles } from '../src/web/nginx-config.ts';
import { WebmailDriver } from '../src/webmail/webmail.driver.ts';
import { WEBMAIL_SERVER_FILE, renderWebmailServer } from '../src/webmail/webmail-config.ts';
import { DEFAULT_PHP_SETTINGS } from '../src/php/php-settings.ts';
import { median } from './median.ts';

const SITES = Number(process.env.BENCH_SITES ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ADDRESS = '127.0.99.14';
const HANDSHAKE_SECONDS = Number(process.env.BENCH_HANDSHAKE_SECONDS ?? 5);
const run = promisify(execFile);

function serverFiles(paths: { sitesDir: string; extraServersDir: string }): string[] {
  return [paths.sitesDir, paths.extraServersDir].flatMap((dir) => readdirSync(dir).map((name) => join(dir, name)));
}

/** Full handshakes (no session resumption) to random hosts of the node, one after another. */
async function handshakesPerSecond(hosts: readonly string[]): Promise<number> {
  const handshake = (servername: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: ADDRESS, port: 443, servername, rejectUnauthorized: false }, () => {
        socket.destroy();
        resolve();
      });
      socket.on('error', reject);
    });
  const until = performance.now() + HANDSHAKE_SECONDS * 1000;
  let count = 0;
  while (performance.now() < until) {
    await handshake(hosts[Math.floor(Math.random() * hosts.length)]!);
    count++;
  }
  return count / HANDSHAKE_SECONDS;
}

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
  const combinedFile = join(workDir, 'cert', 'nginx.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', chainFile, '-days', '30', '-subj', '/CN=bench.test']);
  writeFileSync(combinedFile, readFileSync(chainFile, 'utf8') + readFileSync(keyFile, 'utf8'));
  // nginx's workers (www-data when this runs as root) read the files at the handshake.
  chmodSync(workDir, 0o755);
  for (const file of [keyFile, combinedFile]) chmodSync(file, 0o644);

  const domains = Array.from({ length: SITES }, (_, n) => `bench${n}-site.test`);
  const sites = domains.map((domain, n) => ({
    domain,
    account: `bench${n}`,
    suspended: false,
    documentRoot: layout.www(`bench${n}`, domain, 'public_html'),
    // Settings of their own give each site a server block, where the design before named its certificate (sites with the default settings share one).
    php: { socket: layout.run('php', `bench${n}.sock`), logDir: layout.www(`bench${n}`, 'logs'), settings: { ...DEFAULT_PHP_SETTINGS, memoryLimitMb: DEFAULT_PHP_SETTINGS.memoryLimitMb * 2 } },
  }));
  // nginx opens each site's own logs at a check too.
  for (const site of sites) mkdirSync(site.php.logDir, { recursive: true });
  const servers = renderServerFiles({ address: ADDRESS, paths: nginx.paths, state: { sites, proxies: [] } });
  for (const [name, contents] of servers) writeFileSync(join(nginx.paths.sitesDir, name), contents);
  writeFileSync(join(nginx.paths.extraServersDir, WEBMAIL_SERVER_FILE), renderWebmailServer({ address: ADDRESS, paths: webmail.paths }));
  writeFileSync(nginx.configFile, nginx.renderMain());

  const hosts = domains.flatMap((domain) => [domain, `www.${domain}`, `webmail.${domain}`]);
  const nowFiles = new Map([nginx.configFile, ...serverFiles(nginx.paths)].map((file) => [file, readFileSync(file, 'utf8')]));
  const certificateMap = (): void => {
    for (const host of hosts) writeFileSync(nginxCertificateMapEntryFile(tls, host), renderNginxCertificateMapEntry(host, { nginxFile: combinedFile }));
  };
  /** Certificates named as the version before named them: at the http level, and with a certificate in every server block or none. */
  const before = (withCertificates: boolean): void => {
    for (const [file, contents] of nowFiles) {
      let rendered = contents;
      if (file === nginx.configFile) {
        rendered = rendered
          .replace(/^ *map \$ssl_server_name .*$/m, `    map $ssl_server_name $fleetpanel_certificate { default ${nginx.paths.certificate}; }`)
          .replace(/^( *)ssl_protocols/m, '$1ssl_certificate $fleetpanel_certificate;\n$1ssl_certificate_key $fleetpanel_certificate;\n$1ssl_protocols');
      } else if (withCertificates) {
        rendered = rendered.replace(/^( *)server_name .*;$/gm, `$&\n$1ssl_certificate ${chainFile};\n$1ssl_certificate_key ${keyFile};`);
      }
      writeFileSync(file, rendered);
    }
  };
  const restoreNow = (): void => {
    for (const [file, contents] of nowFiles) writeFileSync(file, contents);
  };
  const designs: Record<string, () => void> = {
    'now, no certificates': restoreNow,
    'now, a certificate for every host': () => {
      restoreNow();
      certificateMap();
    },
    'before, no certificates': () => before(false),
    'before, a certificate for every host': () => before(true),
  };

  const timings = new Map<string, number>();
  for (const [label, prepare] of Object.entries(designs)) {
    rmSync(tls.nginxDir, { recursive: true, force: true });
    mkdirSync(tls.nginxDir, { recursive: true });
    prepare();
    const samples: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      await run('nginx', ['-t', '-q', '-p', nginx.prefix, '-c', nginx.configFile, '-e', 'stderr']);
      samples.push(performance.now() - started);
    }
    timings.set(label, median(samples));
    console.log(`  ${label}: nginx -t of ${SITES} sites and webmail's one server block, median of ${ROUNDS}: ${median(samples).toFixed(0)} ms (each: ${samples.map((s) => s.toFixed(0)).join(', ')})`);
  }
  const ratio = (a: string, b: string): string => (timings.get(a)! / timings.get(b)!).toFixed(2);
  console.log(`nginx-certificates: nginx -t before / now, with a certificate for every host: ${ratio('before, a certificate for every host', 'now, a certificate for every host')}x; without certificates: ${ratio('before, no certificates', 'now, no certificates')}x`);

  const rates = new Map<string, number>();
  for (const label of ['now, a certificate for every host', 'before, a certificate for every host']) {
    rmSync(tls.nginxDir, { recursive: true, force: true });
    mkdirSync(tls.nginxDir, { recursive: true });
    designs[label]!();
    await run('nginx', ['-p', nginx.prefix, '-c', nginx.configFile, '-e', 'stderr']);
    try {
      rates.set(label, await handshakesPerSecond(hosts));
    } finally {
      const pid = Number(readFileSync(nginx.paths.pidFile, 'utf8'));
      process.kill(pid, 'SIGQUIT');
      while (existsSync(nginx.paths.pidFile)) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    console.log(`  ${label}: ${rates.get(label)!.toFixed(0)} TLS handshakes/s, one connection after another for ${HANDSHAKE_SECONDS} s`);
  }
  console.log(`nginx-certificates: handshakes/s now / before: ${(rates.get('now, a certificate for every host')! / rates.get('before, a certificate for every host')!).toFixed(2)}x`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
