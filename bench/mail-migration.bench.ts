/**
 * What moving a mailbox costs against copying its files: a local cluster (parent on
 * <TEST_NET>.38.101, a mail child on .102), one mailbox of BENCH_MESSAGES (10,000) messages written
 * into the parent's Maildir, then in the same run `cp -a` of that Maildir and the whole
 * mail.distribute job (plan to clean), with its copy + verify steps timed from the journal; then
 * the move back to the parent, and the mean of both copy steps against all cp -a runs (each also
 * timed until its files are on disk, as the copy step's are). Prints seconds and the ratios.
 * Also, on the distributed account: IMAP login + LIST through the parent's proxy against direct
 * to the child (BENCH_LOGINS, 200), p50 and ratio.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalCluster } from '../src/demo/local-cluster.ts';
import { NodeLayout } from '../src/agent/node-layout.ts';
import { mailPaths } from '../src/mail/mail-paths.ts';
import { mailboxHome } from '../src/mail/dovecot-config.ts';
import { imapClient, sendMail } from '../test/mail/mail-clients.ts';
import type { JobDetail } from '../src/jobs/index.ts';
import { TEST_NET } from '../test/test-net.ts';

const PARENT = `${TEST_NET}.38.101`;
const CHILD = `${TEST_NET}.38.102`;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
const LOGINS = Number(process.env.BENCH_LOGINS ?? 200);
const PASSWORD = 'violet-tugboat-marmalade-91';
const MAIL_PASSWORD = 'copper-lantern-orchard-57';
const DOMAIN = 'bench-move.test';
const ADDRESS = `box@${DOMAIN}`;

const dir = mkdtempSync(join(tmpdir(), 'fleetpanel-bench-migration-'));
const cluster = new LocalCluster({ dir, parentAddress: PARENT, parentAlias: 'parent', healthIntervalMs: 1000, children: [{ alias: 'mailbench', address: CHILD, roles: ['mail'], link: 'token' }] });

async function api<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${cluster.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const parsed = (await response.json()) as T & { message?: string };
  if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${parsed.message}`);
  return parsed;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function loginAndList(host: string): Promise<number> {
  const started = performance.now();
  const client = imapClient({ host, user: ADDRESS, pass: MAIL_PASSWORD });
  await client.connect();
  await client.list();
  await client.logout();
  return performance.now() - started;
}

async function main(): Promise<void> {
  const info = await cluster.up();
  const token = info.token;
  await api(token, 'POST', '/api/accounts', { username: 'benchmove', domain: DOMAIN, password: PASSWORD });
  await api(token, 'POST', '/api/accounts/benchmove/mail/mailboxes', { address: ADDRESS, password: MAIL_PASSWORD, quotaMb: 0 }).catch(() =>
    api(token, 'POST', '/api/accounts/benchmove/mail/mailboxes', { address: ADDRESS, password: MAIL_PASSWORD }),
  );
  // One real delivery creates the Maildir with Dovecot's owner; the rest are written beside it.
  await sendMail(PARENT, { to: ADDRESS, subject: 'first' });
  const home = mailboxHome(mailPaths(new NodeLayout(cluster.nodeRoot('parent'))).dovecot, ADDRESS);
  const maildir = join(home, 'Maildir');
  const delivered = (): number => ['new', 'cur'].reduce((sum, part) => sum + (existsSync(join(maildir, part)) ? readdirSync(join(maildir, part)).length : 0), 0);
  for (let i = 0; i < 150 && delivered() === 0; i++) await new Promise((r) => setTimeout(r, 200));
  if (delivered() === 0) throw new Error(`the first message did not reach ${maildir}`);
  const owner = statSync(maildir);
  const body = `${'x'.repeat(76)}\n`.repeat(40);
  const now = Math.floor(Date.now() / 1000);
  for (let i = 1; i < MESSAGES; i++) {
    const file = join(maildir, 'cur', `${now}.M${i}P1.bench:2,S`);
    writeFileSync(file, `From: tester@example.net\nTo: ${ADDRESS}\nSubject: bench-${i}\nMessage-ID: <bench-${i}@${DOMAIN}>\nDate: ${new Date().toUTCString()}\n\n${body}`);
    chownSync(file, owner.uid, owner.gid);
  }

  // cp -a three times (median): one run alone is at the mercy of whatever else the disk does.
  // The copy step ends with its files on disk (syncfs, before the source's copy may go), so each
  // run is also timed until `sync --file-system` returns; what was written before (the messages
  // above, the run before) goes to disk first, for neither to pay.
  const copyTarget = join(dir, 'cp-target');
  const cpRuns: number[] = [];
  const durableRuns: number[] = [];
  const copyOnce = (from = maildir): void => {
    rmSync(copyTarget, { recursive: true, force: true });
    mkdirSync(copyTarget);
    execFileSync('sync');
    const t0 = performance.now();
    execFileSync('cp', ['-a', from, copyTarget]);
    cpRuns.push((performance.now() - t0) / 1000);
    execFileSync('sync', ['--file-system', copyTarget]);
    durableRuns.push((performance.now() - t0) / 1000);
    execFileSync('sync');
  };
  for (let i = 0; i < 3; i++) copyOnce();
  const middle = (runs: number[]): number => [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
  const cpSeconds = middle(cpRuns);
  const durableSeconds = middle(durableRuns);

  const started = performance.now();
  const detail = await moveMail(token, 'mailbench');
  const jobSeconds = (performance.now() - started) / 1000;
  const copySeconds = stepSeconds(detail, 'copy');
  const verifySeconds = stepSeconds(detail, 'verify');
  console.log(`mail migration of ${MESSAGES} messages (one mailbox, ${execFileSync('du', ['-sh', copyTarget]).toString().split('\t')[0]})`);
  console.log(`  cp -a of the Maildir, median of 3: ${cpSeconds.toFixed(2)} s  (runs: ${cpRuns.map((r) => r.toFixed(2)).join(', ')})`);
  console.log(`  the same until on disk (sync):    ${durableSeconds.toFixed(2)} s  (runs: ${durableRuns.map((r) => r.toFixed(2)).join(', ')})`);
  console.log(`  distribute job, copy step:       ${copySeconds.toFixed(2)} s  (${(copySeconds / durableSeconds).toFixed(2)}x cp -a until on disk, ${(copySeconds / cpSeconds).toFixed(2)}x cp -a alone; ${progressOf(detail, 'copy')})`);
  console.log(`  distribute job, verify step:     ${verifySeconds.toFixed(2)} s  (${progressOf(detail, 'verify')})`);
  console.log(`  distribute job, plan to clean:   ${jobSeconds.toFixed(2)} s  (${(jobSeconds / cpSeconds).toFixed(1)}x cp -a)`);

  const proxied: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < 10; i++) {
    await loginAndList(PARENT);
    await loginAndList(CHILD);
  }
  for (let i = 0; i < LOGINS; i++) {
    // Interleaved, so both see the same machine load.
    proxied.push(await loginAndList(PARENT));
    direct.push(await loginAndList(CHILD));
  }
  proxied.sort((a, b) => a - b);
  direct.sort((a, b) => a - b);
  console.log(`IMAP login + LIST + LOGOUT, ${LOGINS} each, interleaved`);
  console.log(`  through the parent's proxy:  p50 ${percentile(proxied, 50).toFixed(1)} ms  p99 ${percentile(proxied, 99).toFixed(1)} ms`);
  console.log(`  direct to the child:         p50 ${percentile(direct, 50).toFixed(1)} ms  p99 ${percentile(direct, 99).toFixed(1)} ms`);
  console.log(`  ratio proxy/direct (p50):    ${(percentile(proxied, 50) / percentile(direct, 50)).toFixed(2)}`);

  // One copy step is one sample of a disk that took 0.2 s or 1.3 s for the same cp -a here: the
  // mailbox goes back to the parent too (which no longer holds it, so in bulk again), with cp -a
  // runs before and after, and both copy steps are set against all the cp -a runs.
  // The mailbox is where the move put it.
  const onChild = join(mailboxHome(mailPaths(new NodeLayout(cluster.nodeRoot('mailbench'))).dovecot, ADDRESS), 'Maildir');
  copyOnce(onChild);
  const back = await moveMail(token, 'local');
  copyOnce();
  const copies = [copySeconds, stepSeconds(back, 'copy')];
  const copyMean = (copies[0]! + copies[1]!) / 2;
  console.log(`copy steps there and back: ${copies.map((c) => c.toFixed(2)).join(' s, ')} s (${progressOf(back, 'copy')})`);
  console.log(`  cp -a, median of ${cpRuns.length}: ${middle(cpRuns).toFixed(2)} s (runs: ${cpRuns.map((r) => r.toFixed(2)).join(', ')}); until on disk: ${middle(durableRuns).toFixed(2)} s`);
  console.log(`ratio: the copy step (mean of both) takes ${(copyMean / middle(durableRuns)).toFixed(2)}x cp -a until on disk, ${(copyMean / middle(cpRuns)).toFixed(2)}x cp -a alone (target: within 2x)`);
}

/** Moves the account's mail to `mailNode` and returns the finished job. */
async function moveMail(token: string, mailNode: string): Promise<JobDetail> {
  const { job } = await api<{ job: { id: number } }>(token, 'POST', '/api/accounts/benchmove/mail-node', { mailNode });
  for (;;) {
    const detail = await api<JobDetail>(token, 'GET', `/api/jobs/${job.id}`);
    if (detail.state === 'succeeded') return detail;
    if (['rolled_back', 'held', 'failed'].includes(detail.state)) throw new Error(`job ${job.id} ${detail.state}: ${detail.error}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What a step said of its progress, as the job's journal holds it. */
function progressOf(detail: JobDetail, step: string): string {
  return detail.events.filter((e) => e.step === step && e.kind === 'progress').map((e) => e.message).join('; ');
}

function stepSeconds(detail: JobDetail, name: string): number {
  const step = detail.steps.find((s) => s.name === name)!;
  return (Date.parse(step.finishedAt!) - Date.parse(step.startedAt!)) / 1000;
}

try {
  await main();
} finally {
  await cluster.down();
  if (!process.env.FLEETPANEL_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
}
