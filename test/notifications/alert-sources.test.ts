/**
 * The admin's notifications of a job stopped for the admin, of a system-data de-sync, and of a
 * certificate close to expiry or whose orders fail: each from the real service that owns the
 * fact (job engine, system-data service, certificates service and the panel's certificate, over
 * one real store), through the notifications service wired as the parent wires it, to a signed
 * webhook received by an HTTP server on loopback. Service failures, offline nodes and the email
 * channel are proven on a live cluster in test/e2e/healing.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../src/store/database.ts';
import { JobEngine, defineJob } from '../../src/jobs/index.ts';
import { ValidationError } from '../../src/core/errors.ts';
import { NodesRepository } from '../../src/nodes/nodes.repository.ts';
import { SysdataRepository } from '../../src/sysdata/sysdata.repository.ts';
import { SysdataService } from '../../src/sysdata/sysdata.service.ts';
import { AccountsRepository } from '../../src/accounts/accounts.repository.ts';
import { CertificatesRepository } from '../../src/certificates/certificates.repository.ts';
import { CertificatesService } from '../../src/certificates/certificates.service.ts';
import { PanelCertificate } from '../../src/certificates/panel-certificate.ts';
import { PanelCertificateRepository } from '../../src/certificates/panel-certificate.repository.ts';
import { HealingRepository } from '../../src/notifications/notifications.repository.ts';
import { NotificationsService } from '../../src/notifications/notifications.service.ts';
import { notificationSources } from '../../src/notifications/notifications.parent.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';
import { TEST_NET } from '../test-net.ts';

const BLOCK = `${TEST_NET}.51`;
const SECRET = 'webhook-secret-for-the-alert-sources-test';
const DAY_MS = 86_400_000;
const HOUR_MS = 3600_000;

interface Received {
  event: string;
  state: 'problem' | 'recovered';
  key: string;
  subject: string;
  detail: string;
  labels: Record<string, string>;
  signedOk: boolean;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('notifications of jobs, de-syncs and certificates, to a webhook on loopback', () => {
  const received: Received[] = [];
  let receiver: WebhookReceiver;
  let dataDir: string;
  let store: OpenedStore;
  let jobs: JobEngine;
  let sysdata: SysdataService;
  let notifications: NotificationsService;
  let certificates: CertificatesService;
  let certificatesRepo: CertificatesRepository;
  let panelRepo: PanelCertificateRepository;
  let panel: PanelCertificate;

  /** Deliveries run beside the caller; stop() waits for those in flight (the poll loop was never started, and polls go on after it). */
  const delivered = (): Promise<void> => notifications.stop();
  const about = (key: string): { state: string; subject: string; detail: string; labels: Record<string, string> }[] =>
    received.filter((r) => r.key === key).map(({ state, subject, detail, labels }) => ({ state, subject, detail, labels }));
  const report = async (): Promise<void> => certificates.reportExpiries(await panel.health());

  before(async () => {
    receiver = await startWebhookReceiver(`${BLOCK}.1`, SECRET, (body, signedOk) => received.push({ ...(body as Omit<Received, 'signedOk'>), signedOk }));

    dataDir = mkdtempSync(join(tmpdir(), 'fp-alert-sources-'));
    store = await openStore(join(dataDir, 'fleetpanel.sqlite'));
    jobs = new JobEngine(store.db, undefined, { pollIntervalMs: 50, backoffBaseMs: 20, backoffMaxMs: 80, log: () => undefined });
    jobs.register(
      defineJob<{ account: string }>({
        type: 'test.held-for-admin',
        onFailure: 'hold',
        steps: [{ name: 'refuse', run: async () => Promise.reject(new ValidationError('quota', 'refused on purpose by the test')) }],
      }),
    );
    jobs.register(
      defineJob<{ account: string }>({
        type: 'test.undo-gives-up',
        onFailure: 'undo',
        steps: [
          {
            name: 'break',
            run: async () => Promise.reject(new ValidationError('mailbox', 'broken on purpose by the test')),
            undo: async () => Promise.reject(new ValidationError('mailbox', 'its undo cannot finish either')),
          },
        ],
      }),
    );
    await jobs.start();

    const nodes = new NodesRepository(store.db);
    await nodes.insert({ alias: 'mail9', host: `${BLOCK}.9`, agentPort: 7443, profile: 'STANDARD', roles: ['mail'], status: 'ready', isLocal: false, fingerprint: null, tlsVerified: true, agentVersion: null });
    sysdata = new SysdataService({
      repo: new SysdataRepository(store.db),
      nodeRows: () => nodes.list(),
      // Only the de-sync registry and the status built from it are read here; no list is pushed.
      agents: {
        apply: async () => Promise.reject(new Error('no system data is pushed in this test')),
        digest: async () => Promise.reject(new Error('no digest is read in this test')),
      },
    });

    certificatesRepo = new CertificatesRepository(store.db);
    const accounts = new AccountsRepository(store.db);
    certificates = new CertificatesService({
      repo: certificatesRepo,
      accounts: { requireAccount: async () => Promise.reject(new Error('not used')), list: async () => [] },
      jobs,
      nodes,
      dataDir,
      now: () => Date.now(),
      defaultDirectoryUrl: null,
    });
    panelRepo = new PanelCertificateRepository(store.db);
    panel = new PanelCertificate({
      hostname: 'panel.alerts.example',
      repo: panelRepo,
      accounts: { list: () => accounts.list() },
      enqueue: async () => Promise.reject(new Error('no order is placed in this test')),
      ordersOn: async () => false,
      retryAt: (failures) => Date.now() + failures * 60_000,
      now: () => Date.now(),
    });

    notifications = new NotificationsService(new HealingRepository(store.db), notificationSources({ jobs, sysdata, nodes: { list: async () => [] } }), {
      parentName: 'alerts-test',
      pollIntervalMs: 60_000,
      desyncAgeMs: HOUR_MS,
      certificateWarningMs: 14 * DAY_MS,
      log: () => undefined,
    });
    // As the parent wires them (src/parent/parent.server.ts).
    certificates.observeExpiry((checked) => notifications.certificatesChecked(checked));
    await notifications.setWebhook(receiver.url, SECRET);
  });

  after(async () => {
    await notifications?.stop();
    await jobs?.stop();
    await store?.close();
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a job held for the admin and a job whose undo gave up are each notified once, and each recovery once', async () => {
    const held = await jobs.enqueue({ type: 'test.held-for-admin', key: 'account:alerts1', data: { account: 'alerts1' }, createdBy: 'admin' });
    const failed = await jobs.enqueue({ type: 'test.undo-gives-up', key: 'account:alerts2', data: { account: 'alerts2' }, createdBy: 'admin' });
    await until('both jobs stopped for the admin', async () => (await jobs.get(held.id)).state === 'held' && (await jobs.get(failed.id)).state === 'failed');

    await notifications.pollOnce();
    await notifications.pollOnce();
    await delivered();
    const heldKey = `job_failed:${held.id}`;
    const failedKey = `job_failed:${failed.id}`;
    assert.deepEqual(about(heldKey).map((r) => [r.state, r.subject, r.labels]), [['problem', `job ${held.id} (test.held-for-admin, account:alerts1) is held`, { job: String(held.id), type: 'test.held-for-admin' }]]);
    assert.match(about(heldKey)[0]!.detail, /refused on purpose by the test/);
    assert.deepEqual(about(failedKey).map((r) => [r.state, r.subject]), [['problem', `job ${failed.id} (test.undo-gives-up, account:alerts2) is failed`]]);
    assert.ok(received.every((r) => r.signedOk), 'every delivery carries a valid signature');

    // The admin gives the held job up: its undo runs (nothing to undo) and it is over.
    await jobs.cancel(held.id, 'admin');
    await until('the held job is rolled back', async () => (await jobs.get(held.id)).state === 'rolled_back');
    await notifications.pollOnce();
    await notifications.pollOnce();
    await delivered();
    assert.deepEqual(about(heldKey).map((r) => [r.state, r.subject]), [
      ['problem', `job ${held.id} (test.held-for-admin, account:alerts1) is held`],
      ['recovered', `RECOVERED: job ${held.id} (test.held-for-admin, account:alerts1) is held`],
    ]);
    assert.equal(about(failedKey).length, 1, 'the job whose undo gave up is still stopped, and not notified again');
  });

  test('a de-sync is notified once when it is older than the set age, and its resolution once', async () => {
    const registry = new SysdataRepository(store.db);
    const node = (await new NodesRepository(store.db).byAlias('mail9'))!;
    await registry.registerDesync(node.id, 'mail9', 'firewall', 'the node was offline when "add block-2555" was applied');
    const key = 'desync_stale:mail9:firewall';

    await notifications.pollOnce();
    await delivered();
    assert.deepEqual(about(key), [], 'a de-sync younger than the age is not notified');

    // An hour and a minute later (the registry's clock moved back instead of the test waiting).
    await store.db.updateTable('sysdata_desyncs').set({ since: Date.now() - HOUR_MS - 60_000 }).where('node_id', '=', node.id).execute();
    await notifications.pollOnce();
    await notifications.pollOnce();
    await delivered();
    assert.deepEqual(about(key).map((r) => [r.state, r.labels]), [['problem', { node: 'mail9', type: 'firewall' }]]);
    assert.match(about(key)[0]!.subject, /^firewall on node mail9 is out of sync since /);
    assert.match(about(key)[0]!.detail, /offline when "add block-2555" was applied/);

    await registry.resolveDesyncs(node.id, 'firewall', 'digest matches (test)');
    await notifications.pollOnce();
    await notifications.pollOnce();
    await delivered();
    assert.deepEqual(about(key).map((r) => r.state), ['problem', 'recovered']);
  });

  test("a certificate close to expiry and one whose orders fail are each notified once, and recover when it is renewed or removed", async () => {
    const accounts = new AccountsRepository(store.db);
    const plan = (await accounts.plans())[0]!;
    const near = await accounts.insert({ username: 'nearexp', domain: 'near-expiry.example', planId: plan.id, owner: 'admin', ipv6: false, mailNodeId: null, placements: [] });
    const failing = await accounts.insert({ username: 'ordfail', domain: 'order-fails.example', planId: plan.id, owner: 'admin', ipv6: false, mailNodeId: null, placements: [] });
    const gone = await accounts.insert({ username: 'goneacct', domain: 'gone.example', planId: plan.id, owner: 'admin', ipv6: false, mailNodeId: null, placements: [] });
    for (const account of [near, failing, gone]) await certificates.ensurePlaceholder(account);
    await panel.serving();

    await report();
    await delivered();
    assert.deepEqual(received.filter((r) => r.event.startsWith('certificate_')), [], 'self-signed placeholders valid for years, with no failed order, are nothing to tell');

    const now = Date.now();
    const issued = (notAfter: number) => ({ kind: 'issued' as const, certPem: 'PEM', keyPem: 'KEY', issuer: 'Pebble Intermediate CA', notBefore: now - DAY_MS, notAfter, renewAt: notAfter - 10 * DAY_MS });
    // An issued certificate three days from its end (its renewals did not go through).
    await certificatesRepo.saveServing({ accountId: near.id, names: ['near-expiry.example', 'www.near-expiry.example'], ...issued(now + 3 * DAY_MS) }, now);
    await certificatesRepo.saveServing({ accountId: gone.id, names: ['gone.example'], ...issued(now + 2 * DAY_MS) }, now);
    // Orders that fail, as the issuing job records them: an account's, and the panel's own.
    await certificatesRepo.recordFailure(failing.id, 'acme: connection refused by the directory', now + 60_000, now);
    await certificatesRepo.recordFailure(failing.id, 'acme: connection refused by the directory', now + 120_000, now);
    await panelRepo.recordFailure('no zone Fleetpanel serves holds panel.alerts.example', now + 60_000, now);

    await report();
    await report();
    await delivered();
    const nearKey = 'certificate_expiring:near-expiry.example';
    const goneKey = 'certificate_expiring:gone.example';
    const failingKey = 'certificate_order_failing:order-fails.example';
    const panelKey = 'certificate_order_failing:panel.alerts.example';
    assert.deepEqual(about(nearKey).map((r) => [r.state, r.subject, r.labels]), [['problem', 'certificate near-expiry.example expires in 3 day(s)', { certificate: 'near-expiry.example' }]]);
    assert.deepEqual(about(goneKey).map((r) => [r.state, r.subject]), [['problem', 'certificate gone.example expires in 2 day(s)']]);
    assert.deepEqual(about(failingKey).map((r) => [r.state, r.subject]), [['problem', 'the ACME order for certificate order-fails.example fails']]);
    assert.match(about(failingKey)[0]!.detail, /failed 2 time\(s\) in a row, last: acme: connection refused by the directory/);
    assert.deepEqual(about(panelKey).map((r) => [r.state, r.labels]), [['problem', { certificate: 'panel.alerts.example' }]]);
    assert.deepEqual(about('certificate_expiring:order-fails.example'), [], 'a failing order on a certificate far from its end is not an expiry');

    // Renewed: a certificate good for 90 days clears the order state; the other account is terminated.
    await certificatesRepo.saveServing({ accountId: near.id, names: ['near-expiry.example', 'www.near-expiry.example'], ...issued(Date.now() + 90 * DAY_MS) }, Date.now());
    await certificatesRepo.saveServing({ accountId: failing.id, names: ['order-fails.example'], ...issued(Date.now() + 90 * DAY_MS) }, Date.now());
    await accounts.remove(gone.id);
    await report();
    await report();
    await delivered();
    assert.deepEqual(about(nearKey).map((r) => r.state), ['problem', 'recovered']);
    assert.deepEqual(about(goneKey).map((r) => r.state), ['problem', 'recovered']);
    assert.deepEqual(about(failingKey).map((r) => r.state), ['problem', 'recovered']);
    assert.deepEqual(about(panelKey).map((r) => r.state), ['problem'], "the panel's orders still fail");
    assert.deepEqual((await notifications.openAlerts()).filter((a) => a.kind.startsWith('certificate_')).map((a) => a.key), [panelKey]);
    assert.ok(received.every((r) => r.signedOk), 'every delivery carries a valid signature');
  });
});
