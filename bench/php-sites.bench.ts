/**
 * PHP per account (issue 13): requests per second of one PHP page through nginx and the
 * account's own pool (own user, open_basedir, per-site limits) against the same page through
 * nginx and a bare php-fpm pool (www-data, no settings), in the same run; and how long creating
 * a database with its user and grant takes on a node's MariaDB, against a bare CREATE DATABASE.
 * Numbers are printed, never asserted.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import mysql from 'mysql2/promise';
import { NodeLayout } from '../src/agent/node-layout.ts';
import { NginxDriver } from '../src/web/nginx.driver.ts';
import { PhpPoolsDriver } from '../src/php/php-pools.driver.ts';
import { applySites } from '../src/web/apply-sites.ts';
import { AppliedWebState } from '../src/web/applied-web-state.ts';
import { removeNodeUsers } from '../src/php/system-users.ts';
import { MariadbDriver } from '../src/databases/mariadb.driver.ts';
import { launchDaemon } from '../src/core/daemon-launch.ts';
import { stopByPidFile, waitFor } from '../src/agent/daemon-process.ts';
import { existsSync } from 'node:fs';

const ADDRESS = process.env.BENCH_ADDRESS ?? '127.0.99.13';
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const IN_FLIGHT = Number(process.env.BENCH_CONCURRENCY ?? 8);
const DATABASES = Number(process.env.BENCH_DATABASES ?? 30);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAGE = '<?php $s = 0; for ($i = 0; $i < 2000; $i++) { $s += $i; } echo "sum=$s\\n";';

async function requestsPerSecond(host: string): Promise<number> {
  const agent = new Agent({ connections: IN_FLIGHT });
  const call = async (): Promise<void> => {
    const response = await request(`http://${ADDRESS}/index.php`, { headers: { host }, dispatcher: agent });
    const body = await response.body.text();
    if (response.statusCode !== 200 || !body.startsWith('sum=')) throw new Error(`${host}: HTTP ${response.statusCode} ${body.slice(0, 200)}`);
  };
  for (let i = 0; i < 100; i++) await call();
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < REQUESTS) {
      next++;
      await call();
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  await agent.close();
  return REQUESTS / seconds;
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'fleet-bench-php-'));
  chmodSync(workDir, 0o711);
  const layout = new NodeLayout(join(workDir, 'node'));
  layout.ensure();
  chmodSync(layout.root, 0o711);
  chmodSync(layout.www(), 0o711);
  const context = { layout, address: ADDRESS, log: () => undefined };
  const nginx = new NginxDriver(context);
  const php = new PhpPoolsDriver(context);
  const mariadb = new MariadbDriver(context);
  const barePid = join(workDir, 'bare', 'php-fpm.pid');
  try {
    // The bare pool: one php-fpm as www-data with nothing but a socket, served by the same nginx.
    const bareDir = join(workDir, 'bare');
    mkdirSync(join(bareDir, 'www'), { recursive: true });
    chmodSync(bareDir, 0o755);
    writeFileSync(join(bareDir, 'www', 'index.php'), PAGE, { mode: 0o644 });
    writeFileSync(join(bareDir, 'php-fpm.conf'), [
      '[global]', `pid = ${barePid}`, `error_log = ${join(bareDir, 'php-fpm.log')}`, 'daemonize = yes',
      '[bare]', 'user = www-data', 'group = www-data', `listen = ${join(bareDir, 'php.sock')}`, 'listen.owner = www-data', 'listen.group = www-data',
      'pm = ondemand', 'pm.max_children = 8', 'pm.process_idle_timeout = 20s', '',
    ].join('\n'));
    await launchDaemon('php-fpm8.2', ['--fpm-config', join(bareDir, 'php-fpm.conf')], join(bareDir, 'php-fpm.log'));
    await waitFor(() => existsSync(join(bareDir, 'php.sock')), 10_000, 'the bare php-fpm');
    mkdirSync(layout.etc('nginx', 'servers.d'), { recursive: true });
    writeFileSync(layout.etc('nginx', 'servers.d', 'bare.conf'), [
      'server {', `    listen ${ADDRESS}:80;`, '    server_name bare.test;', `    root ${join(bareDir, 'www')};`,
      '    location ~ \\.php$ {', '        include /etc/nginx/fastcgi_params;', '        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;', `        fastcgi_pass unix:${join(bareDir, 'php.sock')};`, '    }', '}', '',
    ].join('\n'));

    await nginx.start();
    await php.start();
    await applySites(nginx, php, new AppliedWebState().whole({ sites: [{ domain: 'account.test', account: 'benchacct', suspended: false }], proxies: [] }));
    writeFileSync(join(layout.www('benchacct', 'account.test', 'public_html'), 'index.php'), PAGE, { mode: 0o644 });

    // Alternating rounds, best of each: the machine is shared, and one slow round says nothing of the pools.
    let bare = 0;
    let account = 0;
    for (let round = 0; round < ROUNDS; round++) {
      bare = Math.max(bare, await requestsPerSecond('bare.test'));
      account = Math.max(account, await requestsPerSecond('account.test'));
    }
    console.log(`PHP page, ${REQUESTS} requests, ${IN_FLIGHT} in flight, best of ${ROUNDS} alternating rounds`);
    console.log(`  nginx + bare php-fpm pool:      ${bare.toFixed(0)} req/s`);
    console.log(`  nginx + the account's own pool: ${account.toFixed(0)} req/s`);
    console.log(`  ratio account/bare: ${(account / bare).toFixed(2)}`);

    await mariadb.start();
    const root = await mysql.createConnection({ socketPath: mariadb.paths.socket, user: 'root', authPlugins: { unix_socket: () => () => Buffer.alloc(0) } });
    let t0 = performance.now();
    for (let i = 0; i < DATABASES; i++) await root.query(`CREATE DATABASE bare_${i}`);
    const bareCreate = (performance.now() - t0) / DATABASES;
    await root.end();
    t0 = performance.now();
    for (let i = 0; i < DATABASES; i++) {
      await mariadb.createDatabase('benchacct', `benchacct_db${i}`);
      await mariadb.setUser('benchacct', `benchacct_u${i}`, `secret-${i}-pw`, '127.0.0.1');
      await mariadb.grant('benchacct', `benchacct_u${i}`, `benchacct_db${i}`);
    }
    const fullCreate = (performance.now() - t0) / DATABASES;
    console.log(`database creation, ${DATABASES} each`);
    console.log(`  bare CREATE DATABASE:               ${bareCreate.toFixed(1)} ms`);
    console.log(`  database + user + grant (driver):   ${fullCreate.toFixed(1)} ms`);
    console.log(`  ratio: ${(fullCreate / bareCreate).toFixed(2)}`);
  } finally {
    await mariadb.stop();
    await php.stop();
    await nginx.stop();
    await stopByPidFile(barePid);
    await removeNodeUsers(layout.root);
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
