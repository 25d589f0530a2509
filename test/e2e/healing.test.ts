/**
 * Services that heal themselves, on a real cluster: the parent on .40.1 and a child `mail1` on
 * .40.2 running Dovecot, Postfix, nginx, php-fpm (webmail) and PowerDNS. Each daemon is killed
 * with SIGKILL and must answer again (a bounded poll, not a timing assertion) while the node shows
 * degraded in between and ready after; mail sent while Dovecot could not come back is read once
 * over IMAP after it did; a Dovecot stopped with SIGSTOP is found by its probe; a PowerDNS that
 * cannot start ends failed, the rest keeps serving, and a signed webhook and the admin's mailbox get one notification
 * and one recovery; /metrics parses as Prometheus text and counts the restarts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { useTestCluster, callApi, type ApiResult } from './cluster-fixture.ts';
import { imapSubjects, sendMail } from '../mail/mail-clients.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../notifications/webhook-receiver.ts';
import { TEST_NET } from '../test-net.ts';
import { dnsProbe, greetingProbe, httpProbe } from '../../src/agent/probes.ts';
import { isAlive } from '../../src/agent/daemon-process.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import type { NodeView, ServiceView } from '../../src/nodes/node.model.ts';
import type { DaemonProbe } from '../../src/agent/driver.ts';

const BLOCK = `${TEST_NET}.40`;
const CHILD = `${BLOCK}.2`;
const PASSWORD = 'amber-walrus-teacup-48';
const MAIL_PASSWORD = 'quiet-harbor-lantern-62';
const DOMAIN = 'healing-site.test';
const INBOX = `info@${DOMAIN}`;
const SECRET = 'webhook-secret-for-the-healing-test';
const ALERTS = `alerts@${DOMAIN}`;

// Fast watchdog and notifications for the agents and the parent this file starts (they inherit the environment).
Object.assign(process.env, {
  FLEETPANEL_WATCHDOG_INTERVAL_MS: '500',
  FLEETPANEL_WATCHDOG_PROBE_TIMEOUT_MS: '1000',
  FLEETPANEL_WATCHDOG_PROBE_FAILURES: '2',
  FLEETPANEL_WATCHDOG_PAUSE_MS: '500',
  FLEETPANEL_WATCHDOG_MAX_FAILURES: '6',
  FLEETPANEL_WATCHDOG_WINDOW_MS: '120000',
  FLEETPANEL_NOTIFY_POLL_MS: '1000',
});

const fixture = useTestCluster({ block: BLOCK, healthIntervalMs: 300, children: [{ alias: 'mail1', roles: ['mail', 'web', 'dns'], link: 'token' }] });

function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
  return callApi<T>(fixture.info.url, method, path, body, fixture.info.token);
}

async function services(): Promise<ServiceView[]> {
  const result = await api<{ services: ServiceView[] }>('GET', '/api/nodes/mail1/services');
  assert.equal(result.status, 200, result.body.message);
  return result.body.services;
}

async function service(name: string): Promise<ServiceView> {
  const found = (await services()).find((s) => s.name === name);
  assert.ok(found, `mail1 runs ${name}`);
  return found;
}

async function node(): Promise<NodeView & { events: { status: string; message: string }[] }> {
  return (await api<NodeView & { events: { status: string; message: string }[] }>('GET', '/api/nodes/mail1')).body;
}

/** Polls `condition` every 100 ms for at most `limitMs`; fails with `what` if it never holds. */
async function until(what: string, limitMs: number, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function answers(probe: DaemonProbe): Promise<boolean> {
  return probe.run(1000).then(
    () => true,
    () => false,
  );
}

/** What a client of each daemon would try. */
function clientProbe(name: string): DaemonProbe {
  switch (name) {
    case 'dovecot':
      return greetingProbe({ what: 'imap', host: CHILD, port: 143, expect: /^\* OK/, bye: 'a LOGOUT\r\n' });
    case 'postfix':
      return greetingProbe({ what: 'smtp', host: CHILD, port: 25, expect: /^220/, bye: 'QUIT\r\n' });
    case 'nginx':
      return httpProbe({ what: 'http', host: CHILD, port: 80 });
    case 'pdns':
      return dnsProbe({ what: 'dns', host: CHILD, port: 53, name: DOMAIN });
    case 'webmail':
      return greetingProbe({ what: 'php-fpm', host: CHILD, port: new NodeLayout(fixture.cluster.nodeRoot('mail1')).run('webmail', 'php-fpm.sock') });
    default:
      throw new Error(name);
  }
}

interface Received {
  body: Record<string, string>;
  signedOk: boolean;
}

describe('self-healing services on a real cluster', () => {
  const received: Received[] = [];
  let receiver: WebhookReceiver;
  let receiverUrl = '';

  before(async () => {
    receiver = await startWebhookReceiver(`${BLOCK}.1`, SECRET, (body, signedOk) => received.push({ body: body as Record<string, string>, signedOk }));
    receiverUrl = receiver.url;
  });

  after(async () => {
    await receiver?.close();
  });

  test('an account with its mail on mail1, and the webhook and the admin mailbox set', async () => {
    const created = await api('POST', '/api/accounts', { username: 'healer', domain: DOMAIN, password: PASSWORD, mailNode: 'mail1' });
    assert.equal(created.status, 201, created.body.message);
    for (const address of [INBOX, ALERTS]) {
      const mailbox = await api('POST', '/api/accounts/healer/mail/mailboxes', { address, password: MAIL_PASSWORD });
      assert.equal(mailbox.status, 201, mailbox.body.message);
    }
    // The admin's mailbox lives on the cluster itself: the alert leaves through the parent's Postfix and reaches mail1.
    const email = await fixture.cli(['notify', 'email', ALERTS]);
    assert.equal(email.code, 0, email.stderr);
    const hook = await fixture.cli(['notify', 'webhook', receiverUrl, '--secret-stdin', '--json'], SECRET);
    assert.equal(hook.code, 0, hook.stderr);
    assert.equal((JSON.parse(hook.stdout) as { webhookUrl: string }).webhookUrl, receiverUrl);
    assert.equal((await node()).status, 'ready');
  });

  for (const name of ['dovecot', 'postfix', 'nginx', 'webmail', 'pdns']) {
    test(`SIGKILL of ${name}: it answers again within 10 s, the node is degraded in between and ready after`, async () => {
      const before = await service(name);
      assert.equal(before.state, 'running');
      const pid = before.pid!;
      const seen = new Set<string>();
      process.kill(pid, 'SIGKILL');
      const watching = (async () => {
        for (let i = 0; i < 300 && !seen.has('ready-after'); i++) {
          seen.add((await node()).status);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await until(`${name} answering again with a new process`, 10_000, async () => {
        const now = await service(name);
        return now.state === 'running' && now.pid !== undefined && now.pid !== pid && (await answers(clientProbe(name)));
      });
      await until('mail1 ready again', 10_000, async () => (await node()).status === 'ready');
      seen.add('ready-after');
      await watching;
      const shown = await node();
      assert.ok(seen.has('degraded') || shown.events.some((e) => e.status === 'degraded' && e.message.includes(name)), `mail1 was degraded while ${name} was down (seen: ${[...seen].join(', ')})`);
      assert.ok(shown.events.some((e) => e.message.startsWith(`${name} restarted by the watchdog`)), 'the restart is in the health history');
      assert.ok((await service(name)).restarts! >= before.restarts! + 1);
    });
  }

  /** The admin's restart forgets earlier failures, so those of earlier tests do not make the watchdog give up in this one. */
  async function freshDovecot(): Promise<ServiceView> {
    const restarted = await fixture.cli(['node', 'service', 'restart', 'mail1', 'dovecot']);
    assert.equal(restarted.code, 0, restarted.stderr);
    await until('Dovecot answering after the restart', 10_000, async () => (await service('dovecot')).state === 'running' && (await answers(clientProbe('dovecot'))));
    return service('dovecot');
  }

  /**
   * Kills Dovecot and binds its IMAP port. The port is free only once the master's login processes
   * have noticed it died, and the watchdog (500 ms here) may restart Dovecot first: then that
   * Dovecot is killed too and the bind tried again.
   */
  async function takeImapPortFromDovecot(firstPid: number): Promise<TcpServer> {
    const deadline = Date.now() + 10_000;
    let pid = firstPid;
    for (;;) {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      const squatter: TcpServer = createTcpServer((socket) => socket.destroy());
      const bound = await new Promise<boolean>((resolve) => {
        squatter.once('error', () => resolve(false));
        squatter.listen(143, CHILD, () => resolve(true));
      });
      if (bound) return squatter;
      if (Date.now() > deadline) assert.fail('the IMAP port never came free of Dovecot');
      await new Promise((r) => setTimeout(r, 20));
      pid = (await service('dovecot')).pid ?? pid;
    }
  }

  test('mail sent while Dovecot could not come back is read once over IMAP right after it does (the queue is flushed)', async () => {
    // Something else holds Dovecot's IMAP port, so its restarts fail for a while: the mail waits in Postfix's queue.
    const squatter = await takeImapPortFromDovecot((await freshDovecot()).pid!);
    const subjects = ['held while down 1', 'held while down 2', 'held while down 3'];
    try {
      for (const subject of subjects) await sendMail(CHILD, { to: INBOX, subject });
      await until('the messages deferred in mail1 queue', 5000, async () => ((await service('postfix')).queued ?? 0) >= subjects.length);
      // The watchdog notices the kill at its next check; from then on its restarts fail on the held port.
      await until('the watchdog restarting Dovecot', 5000, async () => (await service('dovecot')).state === 'restarting');
      assert.equal(await answers(clientProbe('dovecot')), false, 'IMAP is not served while the port is held');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    await until('Dovecot back', 10_000, async () => (await service('dovecot')).state === 'running' && (await answers(clientProbe('dovecot'))));
    const back = Date.now();
    let inbox: string[] = [];
    await until('the held messages in the mailbox', 10_000, async () => {
      inbox = await imapSubjects({ host: CHILD, user: INBOX, pass: MAIL_PASSWORD });
      return subjects.every((s) => inbox.includes(s));
    });
    assert.ok(Date.now() - back <= 10_000);
    for (const subject of subjects) assert.equal(inbox.filter((s) => s === subject).length, 1, `'${subject}' exactly once`);
  });

  test('a Dovecot stopped with SIGSTOP is found by its probe and restarted', async () => {
    const before = await freshDovecot();
    const pid = before.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      await until('the stopped Dovecot replaced', 30_000, async () => {
        const now = await service('dovecot');
        return now.state === 'running' && now.pid !== pid && (await answers(clientProbe('dovecot')));
      });
      const now = await service('dovecot');
      assert.match(now.problem ?? '', /not answering/);
      assert.equal(isAlive(pid), false, 'the stopped master was killed');
    } finally {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  test('a PowerDNS that cannot start ends failed, the rest keeps serving, and the webhook and the admin mailbox hear it once and its recovery once', async () => {
    const pid = (await service('pdns')).pid!;
    process.kill(pid, 'SIGKILL');
    await until('the old PowerDNS gone', 5000, async () => !isAlive(pid));
    const squatter: UdpSocket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      squatter.once('error', reject);
      squatter.bind(53, CHILD, resolve);
    });
    try {
      await until('pdns failed', 60_000, async () => (await service('pdns')).state === 'failed');
      // The parent sees it at its next health check.
      await until('mail1 degraded with pdns failed', 5000, async () => {
        const now = await node();
        return now.status === 'degraded' && /pdns failed/.test(now.statusDetail ?? '');
      });
      const failed = await node();
      const pdns = failed.services.find((s) => s.name === 'pdns')!;
      assert.ok((pdns.logTail ?? []).length > 0, 'the last lines of its log are shown');
      for (const other of ['dovecot', 'postfix', 'nginx']) assert.ok(await answers(clientProbe(other)), `${other} keeps serving`);
      const shown = await fixture.cli(['node', 'show', 'mail1']);
      assert.match(shown.stdout, /pdns \(failed\)/);
      assert.match(shown.stdout, /pdns failed: .*last lines of its log/);
      await until('the webhook notified', 10_000, async () => received.some((r) => r.body.key === 'service_failed:mail1:pdns'));
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
    const started = await fixture.cli(['node', 'service', 'start', 'mail1', 'pdns']);
    assert.equal(started.code, 0, started.stderr);
    await until('PowerDNS answering', 10_000, async () => answers(clientProbe('pdns')));
    await until('mail1 ready', 10_000, async () => (await node()).status === 'ready');
    await until('the webhook told of the recovery', 10_000, async () => received.some((r) => r.body.key === 'service_failed:mail1:pdns' && r.body.state === 'recovered'));
    // A few more health checks must not send anything again.
    await new Promise((r) => setTimeout(r, 2000));
    const aboutPdns = received.filter((r) => r.body.key === 'service_failed:mail1:pdns');
    assert.deepEqual(
      aboutPdns.map((r) => r.body.state),
      ['problem', 'recovered'],
    );
    assert.ok(aboutPdns.every((r) => r.signedOk), 'every request carries a valid signature');
    assert.equal(aboutPdns[0]!.body.event, 'service_failed');
    // The same two alerts arrive by email, read over IMAP like any user would.
    let mailed: string[] = [];
    await until('both alerts in the admin mailbox', 30_000, async () => {
      mailed = (await imapSubjects({ host: CHILD, user: ALERTS, pass: MAIL_PASSWORD })).filter((subject) => /pdns/.test(subject));
      return mailed.length >= 2;
    });
    assert.equal(mailed.length, 2, `one problem and one recovery: ${mailed.join(' | ')}`);
    assert.equal(mailed.filter((subject) => subject.includes('RECOVERED:')).length, 1, mailed.join(' | '));
    assert.ok(mailed.every((subject) => subject.startsWith('[fleetpanel ')), mailed.join(' | '));
  });

  test('node service stop holds a service stopped (degraded) until start; the CLI lists the states', async () => {
    const stopped = await fixture.cli(['node', 'service', 'stop', 'mail1', 'webmail']);
    assert.equal(stopped.code, 0, stopped.stderr);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await service('webmail')).state, 'stopped');
    assert.equal((await node()).status, 'degraded');
    const listed = await fixture.cli(['node', 'service', 'list', 'mail1']);
    assert.match(listed.stdout, /webmail\s+stopped/);
    const unknown = await fixture.cli(['node', 'service', 'restart', 'mail1', 'nosuch']);
    assert.equal(unknown.code, 5);
    const started = await fixture.cli(['node', 'service', 'start', 'mail1', 'webmail']);
    assert.equal(started.code, 0, started.stderr);
    await until('mail1 ready', 10_000, async () => (await node()).status === 'ready');
  });

  test('/metrics needs the metrics token, parses as Prometheus text and counts the restarts', async () => {
    const refused = await fetch(`${fixture.info.url}/metrics`);
    assert.equal(refused.status, 401);
    const made = await fixture.cli(['metrics', 'token']);
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trim();
    const response = await fetch(`${fixture.info.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    const families = parsePrometheusTextFormat(await response.text());
    const family = (name: string) => families.find((f) => f.name === name);
    const restarts = family('fleetpanel_service_restarts_total');
    assert.equal(restarts?.type, 'COUNTER');
    const dovecot = restarts!.metrics.find((m) => m.labels?.node === 'mail1' && m.labels.service === 'dovecot');
    assert.ok(Number(dovecot?.value) >= 3, `dovecot restarts counted (${dovecot?.value})`);
    const up = family('fleetpanel_service_up')!.metrics.filter((m) => m.labels?.node === 'mail1');
    assert.ok(up.length >= 5 && up.every((m) => m.value === '1'), 'every service of mail1 is up again');
    assert.equal(family('fleetpanel_node_status')!.metrics.find((m) => m.labels?.node === 'mail1' && m.labels.status === 'ready')?.value, '1');
    assert.ok(family('fleetpanel_mail_queue_messages')!.metrics.some((m) => m.labels?.node === 'mail1'));
    assert.ok(family('fleetpanel_jobs'));
    assert.ok(family('fleetpanel_http_request_duration_seconds')!.metrics.length > 0);
  });
});
