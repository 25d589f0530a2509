/**
 * The parent's own HTTPS certificate (`fleetpanel parent --hostname panel.example.com`): a
 * self-signed one from the first start, then an ACME one ordered the same way as an account's
 * (a job, DNS-01 answers in the zone that holds the host name, which must be an account's zone
 * Fleetpanel serves), renewed at two thirds of its lifetime with back-off. Each certificate put
 * in service is handed to the parent's HTTPS listener, which swaps it without a restart.
 */
import { checkDomain } from '../core/grammar.ts';
import { ConflictError, ForbiddenError, ValidationError } from '../core/errors.ts';
import type { Principal } from '../auth/principal.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { JobView } from '../jobs/index.ts';
import { selfSigned } from '../transport/ca.ts';
import type { CertificateTarget, IssueCertificateData } from './issue-certificate.job.ts';
import type { PanelCertificateRepository, PanelCertificateRow } from './panel-certificate.repository.ts';
import { expiryWarning, healthOf, type CertificateHealth } from './certificates.service.ts';

export interface PanelCertificateView {
  hostname: string;
  kind: 'self-signed' | 'issued';
  issuer: string;
  notBefore: string;
  notAfter: string;
  renewAt: string;
  /** the account whose zone holds the host name (where its DNS-01 answers go), or null when none does */
  zoneAccount: string | null;
  lastError: string | null;
  failures: number;
  retryAt: string | null;
  warning: string | null;
}

export interface PanelCertificateDeps {
  hostname: string;
  repo: PanelCertificateRepository;
  accounts: { list(): Promise<AccountRecord[]> };
  /** queues an order; a ConflictError when one for the zone's account is under way */
  enqueue(data: IssueCertificateData, by: string): Promise<JobView>;
  /** whether orders are on (an ACME directory is set) */
  ordersOn(): Promise<boolean>;
  retryAt(failures: number): number;
  now(): number;
}

export type ServingListener = (certificate: { certPem: string; keyPem: string }) => void;

export class PanelCertificate {
  private listener: ServingListener | undefined;

  constructor(private readonly deps: PanelCertificateDeps) {
    const problem = checkDomain(deps.hostname);
    if (problem) throw new ValidationError('--hostname', problem);
  }

  get hostname(): string {
    return this.deps.hostname;
  }

  /** The one who swaps the listener's certificate (the parent's HTTPS server). */
  onServing(listener: ServingListener): void {
    this.listener = listener;
  }

  /** The certificate to serve now: a self-signed one for the host name when none is stored for it. */
  async serving(): Promise<PanelCertificateRow> {
    const row = await this.deps.repo.current();
    if (row && row.hostname === this.deps.hostname) return row;
    const placeholder = await selfSigned(this.deps.hostname, [this.deps.hostname]);
    const now = this.deps.now();
    await this.deps.repo.saveServing(
      { hostname: this.deps.hostname, kind: 'self-signed', certPem: placeholder.certPem, keyPem: placeholder.keyPem, issuer: 'self-signed (until the ACME order goes through)', notBefore: now - 60_000, notAfter: now + 10 * 365 * 24 * 3600 * 1000, renewAt: now },
      now,
    );
    return (await this.deps.repo.current())!;
  }

  /** What the admin's notifications hear of the panel's certificate (nothing before the first one is made). */
  async health(): Promise<CertificateHealth[]> {
    const row = await this.deps.repo.current();
    return row && row.hostname === this.deps.hostname ? [healthOf(row.hostname, row)] : [];
  }

  /** The account whose zone holds the host name: its domain is the name or the nearest parent of it. */
  async zoneAccount(): Promise<AccountRecord | undefined> {
    const holders = (await this.deps.accounts.list()).filter((a) => this.deps.hostname === a.domain || this.deps.hostname.endsWith(`.${a.domain}`));
    return holders.sort((a, b) => b.domain.length - a.domain.length)[0];
  }

  /** Where the job keeps the panel's order and what it does with the issued certificate. */
  target(): CertificateTarget {
    const repo = this.deps.repo;
    return {
      current: () => repo.current(),
      setPendingKey: (keyPem, now) => repo.setPendingKey(keyPem, now),
      saveServing: ({ names: _names, ...issued }, now) => repo.saveServing({ hostname: this.deps.hostname, kind: 'issued', ...issued }, now),
      recordFailure: (error, retryAt, now) => repo.recordFailure(error, retryAt, now),
      deploy: async () => {
        const row = await repo.current();
        if (row) this.listener?.({ certPem: row.certPem, keyPem: row.keyPem });
      },
    };
  }

  private async order(by: string): Promise<JobView> {
    const zone = await this.zoneAccount();
    if (!zone) {
      const message = `no zone Fleetpanel serves holds ${this.deps.hostname}: create the account of its domain, and the order follows`;
      const failures = ((await this.deps.repo.current())?.failures ?? 0) + 1;
      await this.deps.repo.recordFailure(message, this.deps.retryAt(failures), this.deps.now());
      throw new ConflictError(message);
    }
    return this.deps.enqueue({ account: zone.username, names: [this.deps.hostname], panel: true }, by);
  }

  /** One pass of the renewal loop: an order when the certificate is due and not backing off. */
  async tick(): Promise<void> {
    if (!(await this.deps.ordersOn())) return;
    const row = await this.serving();
    const now = this.deps.now();
    if (row.renewAt > now || (row.retryAt !== null && row.retryAt > now)) return;
    try {
      await this.order('renewal');
    } catch (error) {
      // No zone yet (recorded on the certificate), or an order of the zone's account under way.
      if (!(error instanceof ConflictError)) throw error;
    }
  }

  async renew(principal: Principal): Promise<JobView> {
    if (principal.role !== 'admin') throw new ForbiddenError("only the admin renews the panel's certificate");
    if (!(await this.deps.ordersOn())) throw new ConflictError('no ACME directory is set on this parent; set one with `fleetpanel ssl ca set URL`');
    await this.serving();
    return this.order(principal.username);
  }

  async view(principal: Principal): Promise<PanelCertificateView> {
    if (principal.role !== 'admin') throw new ForbiddenError("only the admin reads the panel's certificate");
    const row = await this.serving();
    const iso = (ms: number): string => new Date(ms).toISOString();
    return {
      hostname: row.hostname,
      kind: row.kind,
      issuer: row.issuer,
      notBefore: iso(row.notBefore),
      notAfter: iso(row.notAfter),
      renewAt: iso(row.renewAt),
      zoneAccount: (await this.zoneAccount())?.username ?? null,
      lastError: row.lastError,
      failures: row.failures,
      retryAt: row.retryAt === null ? null : iso(row.retryAt),
      warning: expiryWarning(row, this.deps.now()),
    };
  }
}
