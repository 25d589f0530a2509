/**
 * What an account transfer between two parent/child pairs costs against copying the same data
 * with `tar | ssh`: two pairs on one machine (source parent on <TEST_NET>.46.101, target parent on
 * <TEST_NET>.46.111), one account with BENCH_MAIL_MB (100) of mail in one mailbox and
 * BENCH_FILES_MB (100) of site files. In the same run: `tar -c | ssh root@target tar -x` of the
 * Maildir home and the site folder (to an sshd the demo's child-sshd starts on the target's
 * address), then the whole account.transfer job (plan to clean), with its copy, files and verify
 * steps from the journal. Prints seconds, MB/s and the ratios.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalCluster } from '../src/demo/local-cluster.ts';
import { NodeLayout } from '../src/agent/node-layout.ts';
import { mailPaths } from '../src/mail/mail-paths.ts';
import { mailboxHome } from '../src/mail/dovecot-config.ts';
import { ensureAdminKey, startChildSshd } from '../src/demo/child-sshd.ts';
import { sendMail } from '../test/mail/mail-clients.ts';
import type { JobDetail } from '../src/jobs/index.ts';
import { removeNodeUsers } from '../src/php/system-users.ts';
import { TEST_NET } from '../test/test-net.ts';

const SOURCE = `${TEST_NET}.46.101`;
const TARGET = `${TEST_NET}.46.111`;
const MAIL_MB = Number(process.env.BENCH_MAIL_MB ?? 100);
const FILES_MB = Number(process.env.BENCH_FILES_MB ?? 100);
const MESSAGE_KB = 20;
const PASSWORD = 'violet-tugboat-marmalade-91';
const MAIL_PASSWORD = 'copper-lantern-orchard-57';
const DOMAIN = 'bench-transfer.test';
const ADDRESS = `box@${DOMAIN}`;

const dir = mkdtempSync(join(tmpdir(), 'fleetpanel-bench-transfer-'));
const cluster = new LocalCluster({ dir, parentAddress: SOURCE, parentAlias: 'parent', healthIntervalMs: 1000, children: [], secondPair: { parentAddress: TARGET, parentAlias: 'parent2', children: [] } });

async function api<T>(url: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const parsed = (await response.json()) as T & { message?: string };
  if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${parsed.message}`);
  return parsed;
}

/** `tar -c -C from . | ssh root@TARGET tar -x -C to`, timed. */
function tarOverSsh(from: string, to: string, key: string): number {
  const started = performance.now();
  const ssh = `ssh -i ${key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@${TARGET}`;
  const result = spawnSync('bash', ['-o', 'pipefail', '-c', `tar -c -C '${from}' . | ${ssh} "mkdir -p '${to}' && tar -x -C '${to}'"`], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`tar | ssh failed: ${result.stderr.toString()}`);
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const info = await cluster.up();
  const second = info.second!;
  await api(info.url, info.token, 'POST', '/api/accounts', { username: 'benchxfer', domain: DOMAIN, password: PASSWORD });
  await api(info.url, info.token, 'POST', '/api/accounts/benchxfer/mail/mailboxes', { address: ADDRESS, password: MAIL_PASSWORD });
  // One real delivery creates the Maildir with Dovecot's owner; the rest are written beside it.
  await sendMail(SOURCE, { to: ADDRESS, subject: 'first' });
  const layout = new NodeLayout(cluster.nodeRoot('parent'));
  const home = mailboxHome(mailPaths(layout).dovecot, ADDRESS);
  const maildir = join(home, 'Maildir');
  const delivered = (): number => ['new', 'cur'].reduce((sum, part) => sum + (existsSync(join(maildir, part)) ? readdirSync(join(maildir, part)).length : 0), 0);
  for (let i = 0; i < 150 && delivered() === 0; i++) await new Promise((r) => setTimeout(r, 200));
  if (delivered() === 0) throw new Error(`the first message did not reach ${maildir}`);
  const owner = statSync(maildir);
  const messages = Math.round((MAIL_MB * 1024) / MESSAGE_KB);
  const now = Math.floor(Date.now() / 1000);
  for (let i = 1; i < messages; i++) {
    const file = join(maildir, 'cur', `${now}.M${i}P1.bench:2,S`);
    // Base64 of random bytes: mail-like, and no compression anywhere can shortcut it.
    const body = randomBytes((MESSAGE_KB * 1024 * 3) / 4 - 300).toString('base64').replace(/.{76}/g, '$&\n');
    writeFileSync(file, `From: tester@example.net\nTo: ${ADDRESS}\nSubject: bench-${i}\nMessage-ID: <bench-${i}@${DOMAIN}>\nDate: ${new Date().toUTCString()}\n\n${body}\n`);
    chownSync(file, owner.uid, owner.gid);
  }
  const site = layout.www('benchxfer', DOMAIN);
  const siteOwner = statSync(join(site, 'public_html'));
  for (let i = 0; i < FILES_MB; i++) {
    const file = join(site, 'public_html', `asset-${i}.bin`);
    writeFileSync(file, randomBytes(1024 * 1024));
    chownSync(file, siteOwner.uid, siteOwner.gid);
  }
  const size = execFileSync('du', ['-scm', home, site]).toString().trim().split('\n').at(-1)!.split('\t')[0]!;

  const key = await ensureAdminKey(dir);
  await startChildSshd(dir, 'target', TARGET, join(dir, 'pids', 'sshd-target.pid'), join(dir, 'logs', 'sshd-target.log'));
  const sshRuns: number[] = [];
  for (let i = 0; i < 3; i++) {
    const to = join(dir, `ssh-copy-${i}`);
    sshRuns.push(tarOverSsh(home, join(to, 'mail'), key.privateKeyFile) + tarOverSsh(site, join(to, 'site'), key.privateKeyFile));
    rmSync(to, { recursive: true, force: true });
  }
  const sshSeconds = [...sshRuns].sort((a, b) => a - b)[1]!;

  console.error(`tar | ssh: ${sshRuns.map((r) => r.toFixed(2)).join(', ')} s; starting the transfer job`);
  const started = performance.now();
  const { job } = await api<{ job: { id: number } }>(info.url, info.token, 'POST', '/api/accounts/benchxfer/transfer', { to: second.url, token: second.token });
  let detail: JobDetail;
  for (;;) {
    // A kept-alive connection the parent closed between two polls is not the job failing.
    const polled = await api<JobDetail>(info.url, info.token, 'GET', `/api/jobs/${job.id}`).catch((error: unknown) => {
      console.error(`poll: ${(error as Error).message}`);
      return undefined;
    });
    if (!polled) continue;
    detail = polled;
    if (['succeeded', 'rolled_back', 'held', 'failed'].includes(detail.state)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const jobSeconds = (performance.now() - started) / 1000;
  if (detail.state !== 'succeeded') throw new Error(`job ${job.id} ${detail.state}: ${detail.error}`);
  const stepSeconds = (name: string): number => {
    const step = detail.steps.find((s) => s.name === name)!;
    return (Date.parse(step.finishedAt!) - Date.parse(step.startedAt!)) / 1000;
  };
  const dataSeconds = stepSeconds('copy') + stepSeconds('files');
  const mbps = (seconds: number): string => (Number(size) / seconds).toFixed(1);
  console.log(`account transfer of ${size} MB (${messages} messages of ${MESSAGE_KB} KB in one mailbox, ${FILES_MB} files of 1 MB)`);
  console.log(`  tar | ssh (mail + site), median of 3:  ${sshSeconds.toFixed(2)} s  ${mbps(sshSeconds)} MB/s  (runs: ${sshRuns.map((r) => r.toFixed(2)).join(', ')})`);
  console.log(`  transfer job, copy + files steps:      ${dataSeconds.toFixed(2)} s  ${mbps(dataSeconds)} MB/s  (${(dataSeconds / sshSeconds).toFixed(2)}x tar | ssh)`);
  console.log(`  transfer job, verify step:             ${stepSeconds('verify').toFixed(2)} s`);
  console.log(`  transfer job, plan to clean:           ${jobSeconds.toFixed(2)} s  ${mbps(jobSeconds)} MB/s  (${(jobSeconds / sshSeconds).toFixed(2)}x tar | ssh)`);
}

try {
  await main();
} finally {
  await cluster.down();
  await removeNodeUsers(cluster.nodeRoot('parent'));
  await removeNodeUsers(cluster.second!.nodeRoot('parent2'));
  if (!process.env.FLEETPANEL_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
}
