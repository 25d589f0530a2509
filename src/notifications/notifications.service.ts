/**
 * Notifications to the admin: an email address (sent through the parent's own Postfix) and/or a
 * webhook (JSON signed with a shared secret). Each problem is sent once and its recovery once
 * (open alerts are kept in the store, so a parent restart does not send them again): a service
 * gone `failed`, a node gone offline, a job stopped for the admin (held or failed), a system-data
 * de-sync older than an hour, a certificate close to expiry, and a certificate whose orders keep
 * failing (the certificates work reports them all through certificatesChecked).
 */
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../core/errors.ts';
import { assertValid, checkEmail } from '../core/grammar.ts';
import { isServing, type NodeView, type ServiceView } from '../nodes/node.model.ts';
import { alertKey, decide, message, type AlertKind, type AlertMessage, type Problem } from './alert.ts';
import type { HealingRepository } from './notifications.repository.ts';
import { postWebhook, sendEmail } from './channels.ts';

export interface NotificationSettingsView {
  email: string | null;
  webhookUrl: string | null;
  /** whether a webhook secret is set (the secret itself is shown only when generated) */
  webhookSecretSet: boolean;
}

/** What the pollers read from the other domains; plain functions, so this domain imports none of their services. */
export interface NotificationSources {
  /** jobs stopped for the admin (held or failed) */
  stoppedJobs(): Promise<{ id: number; type: string; key: string; state: string; error: string | null }[]>;
  /** open system-data de-syncs */
  desyncs(): Promise<{ node: string; type: string; since: string; reason: string | null }[]>;
  /** where the parent's own Postfix listens (its own node's address), or null without one */
  smtpHost(): Promise<string | null>;
}

/** A certificate in service as the certificates work reports it. */
export interface CheckedCertificate {
  name: string;
  expiresAt: Date;
  /** the last order's error while orders keep failing, null once one went through */
  orderError: string | null;
  /** orders failed in a row */
  failures: number;
}

export interface NotificationOptions {
  parentName: string;
  /** how often jobs and de-syncs are looked at */
  pollIntervalMs: number;
  /** a de-sync older than this is notified */
  desyncAgeMs: number;
  /** a certificate expiring sooner than this is notified */
  certificateWarningMs: number;
  log: (message: string, fields?: Record<string, unknown>) => void;
}

const EMAIL = 'notify_email';
const WEBHOOK_URL = 'notify_webhook_url';
const WEBHOOK_SECRET = 'notify_webhook_secret';

export class NotificationsService {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Deliveries in flight, so stop() can let them finish. */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly repo: HealingRepository,
    private readonly sources: NotificationSources,
    private readonly options: NotificationOptions,
  ) {}

  async settings(): Promise<NotificationSettingsView> {
    return {
      email: (await this.repo.getSetting(EMAIL)) ?? null,
      webhookUrl: (await this.repo.getSetting(WEBHOOK_URL)) ?? null,
      webhookSecretSet: (await this.repo.getSetting(WEBHOOK_SECRET)) !== undefined,
    };
  }

  async setEmail(address: string | null): Promise<NotificationSettingsView> {
    if (address !== null) assertValid('email', address, checkEmail);
    await this.repo.setSetting(EMAIL, address);
    return this.settings();
  }

  /** Without a secret a random one is made and returned this once; the receiver needs it to check signatures. */
  async setWebhook(url: string | null, secret?: string): Promise<NotificationSettingsView & { webhookSecret?: string }> {
    if (url === null) {
      await this.repo.setSetting(WEBHOOK_URL, null);
      await this.repo.setSetting(WEBHOOK_SECRET, null);
      return this.settings();
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ValidationError('url', 'is not a URL (http://… or https://…)');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ValidationError('url', 'must be http:// or https://');
    if (parsed.username || parsed.password) throw new ValidationError('url', 'must not carry a user or password; the signature authenticates the parent');
    if (secret !== undefined && !/^[\x21-\x7e]{16,200}$/.test(secret)) throw new ValidationError('secret', 'must be 16 to 200 printable characters without spaces');
    const generated = secret === undefined ? randomBytes(24).toString('base64url') : undefined;
    await this.repo.setSetting(WEBHOOK_URL, parsed.toString());
    await this.repo.setSetting(WEBHOOK_SECRET, secret ?? generated!);
    return { ...(await this.settings()), ...(generated ? { webhookSecret: generated } : {}) };
  }

  async openAlerts(): Promise<{ key: string; kind: string; subject: string; since: string }[]> {
    return (await this.repo.openAlerts()).map((a) => ({ key: a.key, kind: a.kind, subject: a.subject, since: new Date(a.openedAt).toISOString() }));
  }

  /** Sends a test notification through every channel now; throws with the reason a channel failed. */
  async sendTest(): Promise<{ sentTo: string[] }> {
    const alert = message('service_failed', 'test', 'problem', 'test notification', 'This is a test of the notification settings; nothing is wrong.', {}, new Date());
    return { sentTo: await this.deliver(alert) };
  }

  /**
   * The one entry every source goes through: `problem` is what is wrong now under this key, or
   * null when nothing is. Sends only on a change.
   */
  async observe(kind: AlertKind, key: string, problem: Problem | null): Promise<void> {
    const open = await this.repo.openAlert(key);
    const decision = decide(open !== undefined, problem);
    if (decision === 'notify' && problem) {
      if (!(await this.repo.open(key, kind, problem.subject, Date.now()))) return;
      this.send(message(kind, key, 'problem', problem.subject, problem.detail, problem.labels ?? {}, new Date()));
    } else if (decision === 'recover' && open) {
      if (!(await this.repo.close(key))) return;
      this.send(message(kind, key, 'recovered', open.subject, problem?.detail ?? 'the problem is gone', labelsFromKey(key), new Date()));
    }
  }

  /** Problems of one kind found by a poller: each is observed, and open alerts of the kind not among them recover. */
  private async reconcile(kind: AlertKind, problems: Map<string, Problem>): Promise<void> {
    for (const [key, problem] of problems) await this.observe(kind, key, problem);
    for (const open of await this.repo.openAlerts(kind)) if (!problems.has(open.key)) await this.observe(kind, open.key, null);
  }

  /** The nodes service calls this after every health check (services null: the agent did not answer). */
  async nodeChecked(node: NodeView, services: ServiceView[] | null): Promise<void> {
    const offlineKey = alertKey('node_offline', node.alias);
    if (node.status === 'offline') {
      await this.observe('node_offline', offlineKey, { subject: `node ${node.alias} is offline`, detail: node.statusDetail ?? 'its health check fails', labels: { node: node.alias } });
    } else if (isServing(node.status)) {
      await this.observe('node_offline', offlineKey, null);
    }
    for (const service of services ?? []) {
      const key = alertKey('service_failed', node.alias, service.name);
      if (service.state === 'failed') {
        const detail = [`${service.name} on ${node.alias} failed and stays stopped: ${service.problem ?? 'it kept failing'}`, ...(service.logTail?.length ? ['', 'last lines of its log:', ...service.logTail] : [])].join('\n');
        await this.observe('service_failed', key, { subject: `${service.name} failed on ${node.alias}`, detail, labels: { node: node.alias, service: service.name } });
      } else if (service.state === 'running' || (service.state === undefined && service.running)) {
        await this.observe('service_failed', key, null);
      }
    }
  }

  /**
   * The hook of the certificates work, with every certificate in service: one close to expiry,
   * and one whose orders fail (a renewal, or the first order that replaces a placeholder), each
   * opens its alert; a renewed, repaired or removed one recovers it.
   */
  async certificatesChecked(certificates: readonly CheckedCertificate[]): Promise<void> {
    const expiring = new Map<string, Problem>();
    const failing = new Map<string, Problem>();
    const now = Date.now();
    for (const { name, expiresAt, orderError, failures } of certificates) {
      const left = expiresAt.getTime() - now;
      if (left < this.options.certificateWarningMs) {
        expiring.set(alertKey('certificate_expiring', name), {
          subject: `certificate ${name} expires ${left <= 0 ? 'now' : `in ${Math.ceil(left / 86_400_000)} day(s)`}`,
          detail: `the certificate for ${name} expires at ${expiresAt.toISOString()}${orderError === null ? '' : `; its renewal fails: ${orderError}`}`,
          labels: { certificate: name },
        });
      }
      if (orderError !== null) {
        failing.set(alertKey('certificate_order_failing', name), {
          subject: `the ACME order for certificate ${name} fails`,
          detail: `the order for ${name} failed ${failures} time(s) in a row, last: ${orderError}; it is retried with back-off, and the certificate in service (until ${expiresAt.toISOString()}) stays; see fleetpanel ssl status`,
          labels: { certificate: name },
        });
      }
    }
    await this.reconcile('certificate_expiring', expiring);
    await this.reconcile('certificate_order_failing', failing);
  }

  async pollOnce(): Promise<void> {
    const jobs = new Map<string, Problem>();
    for (const job of await this.sources.stoppedJobs()) {
      jobs.set(alertKey('job_failed', job.id), {
        subject: `job ${job.id} (${job.type}, ${job.key}) is ${job.state}`,
        detail: `job ${job.id} stopped for the admin (${job.state}): ${job.error ?? 'no error recorded'}; see fleetpanel job show ${job.id}`,
        labels: { job: String(job.id), type: job.type },
      });
    }
    await this.reconcile('job_failed', jobs);
    const stale = new Map<string, Problem>();
    const now = Date.now();
    for (const desync of await this.sources.desyncs()) {
      if (now - Date.parse(desync.since) < this.options.desyncAgeMs) continue;
      stale.set(alertKey('desync_stale', desync.node, desync.type), {
        subject: `${desync.type} on node ${desync.node} is out of sync since ${desync.since}`,
        detail: `system data ${desync.type} differs on ${desync.node} since ${desync.since}: ${desync.reason ?? 'no reason recorded'}`,
        labels: { node: desync.node, type: desync.type },
      });
    }
    await this.reconcile('desync_stale', stale);
  }

  start(): void {
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      await this.pollOnce().catch((error: unknown) => this.options.log('notification poll failed', { error: (error as Error).message }));
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.options.pollIntervalMs);
    };
    this.timer = setTimeout(() => void tick(), this.options.pollIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.pending]);
  }

  /** Delivery runs beside the health loop, which must never wait for a slow receiver. */
  private send(alert: AlertMessage): void {
    const delivery = this.deliver(alert).then(
      (sentTo) => this.options.log('notification sent', { key: alert.key, state: alert.state, sentTo }),
      (error: unknown) => this.options.log('notification not delivered', { key: alert.key, state: alert.state, error: (error as Error).message }),
    );
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  private async deliver(alert: AlertMessage): Promise<string[]> {
    const sentTo: string[] = [];
    const errors: string[] = [];
    const url = await this.repo.getSetting(WEBHOOK_URL);
    const secret = await this.repo.getSetting(WEBHOOK_SECRET);
    if (url && secret) {
      await postWebhook(url, secret, alert).then(
        () => sentTo.push('webhook'),
        (error: unknown) => errors.push(`webhook: ${(error as Error).message}`),
      );
    }
    const email = await this.repo.getSetting(EMAIL);
    if (email) {
      const host = await this.sources.smtpHost();
      if (host === null) errors.push('email: the parent has no node of its own whose Postfix could send it');
      else await sendEmail(host, email, this.options.parentName, alert).then(() => sentTo.push('email'), (error: unknown) => errors.push(`email: ${(error as Error).message}`));
    }
    if (errors.length > 0) throw new Error(errors.join('; '));
    return sentTo;
  }
}

/** A recovery carries the same routing fields as its problem, read back from the key. */
function labelsFromKey(key: string): Record<string, string> {
  const [kind, ...parts] = key.split(':');
  switch (kind) {
    case 'service_failed':
      return { node: parts[0] ?? '', service: parts[1] ?? '' };
    case 'node_offline':
      return { node: parts[0] ?? '' };
    case 'job_failed':
      return { job: parts[0] ?? '' };
    case 'desync_stale':
      return { node: parts[0] ?? '', type: parts[1] ?? '' };
    case 'certificate_expiring':
    case 'certificate_order_failing':
      return { certificate: parts.join(':') };
    default:
      return {};
  }
}
