/**
 * Every account's certificate: a self-signed one serves from the account's first minute, an ACME
 * one replaces it as soon as its order goes through, and renewal starts at two thirds of its
 * lifetime, with back-off after a failure. The ACME settings and the account key are the parent's.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../core/errors.ts';
import type { Principal } from '../auth/principal.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { JobEngine, JobView } from '../jobs/index.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import { selfSigned } from '../transport/ca.ts';
import { AcmeIssuer, type AcmeSettings } from './acme-issuer.ts';
import { accountCertificateNames, orderNames } from './certificate-names.ts';
import type { CertificateRow, CertificatesRepository } from './certificates.repository.ts';
import { ISSUE_CERTIFICATE_JOB, type IssueCertificateData } from './issue-certificate.job.ts';

const NO_DIRECTORY = 'no ACME directory is set on this parent (it was started with --acme-directory off); set one with `fleetpanel ssl ca set URL`';
/** An expiry this close, with renewal failing, is shown as a warning. */
export const EXPIRY_WARNING_MS = 14 * 24 * 3600 * 1000;

export interface CertificateView {
  account: string;
  domain: string;
  names: string[];
  /** 'self-signed' until an ACME certificate is issued */
  kind: 'self-signed' | 'issued';
  issuer: string;
  notBefore: string;
  notAfter: string;
  renewAt: string;
  lastError: string | null;
  failures: number;
  retryAt: string | null;
  warning: string | null;
}

export interface AcmeSettingsView {
  /** null: orders are off until the admin sets a directory */
  directoryUrl: string | null;
  caBundle: boolean;
}

export interface CertificatesServiceDeps {
  repo: CertificatesRepository;
  accounts: Pick<AccountsService, 'requireAccount' | 'list'>;
  jobs: Pick<JobEngine, 'enqueue'>;
  /** the nodes, to tell which certificates one of them serves */
  nodes: { list(): Promise<NodeRow[]> };
  dataDir: string;
  now(): number;
  /** the directory when the admin stored none; null means no orders until one is set */
  defaultDirectoryUrl: string | null;
}

export function healthOf(name: string, row: Pick<CertificateRow, 'notAfter' | 'lastError' | 'failures'>): CertificateHealth {
  return { name, expiresAt: new Date(row.notAfter), orderError: row.lastError, failures: row.failures };
}

export function expiryWarning(row: Pick<CertificateRow, 'notAfter' | 'lastError' | 'kind'>, now: number): string | null {
  if (row.kind !== 'issued' || row.lastError === null || row.notAfter - now > EXPIRY_WARNING_MS) return null;
  const days = Math.max(0, Math.floor((row.notAfter - now) / (24 * 3600 * 1000)));
  return `certificate expires in ${days} day(s) and its renewal is failing: ${row.lastError}`;
}

/** What the admin's notifications hear of a certificate in service: when it expires, and whether its orders fail. */
export interface CertificateHealth {
  /** the account's domain (its first name), or the panel's host name */
  name: string;
  expiresAt: Date;
  /** the error of the last order while orders keep failing (back-off), null once one went through */
  orderError: string | null;
  /** orders failed in a row */
  failures: number;
}

export type ExpiryObserver = (certificates: CertificateHealth[]) => Promise<void>;

export class CertificatesService {
  private issuerPromise: Promise<AcmeIssuer> | undefined;
  private expiryObserver: ExpiryObserver | undefined;

  constructor(private readonly deps: CertificatesServiceDeps) {}

  // ---- the ACME side

  /** The stored settings, else the parent's default; null when orders are off. */
  async acmeSettings(): Promise<AcmeSettings | null> {
    const stored = await this.deps.repo.settings();
    if (stored) return { directoryUrl: stored.directoryUrl, caBundlePem: stored.caBundlePem };
    return this.deps.defaultDirectoryUrl === null ? null : { directoryUrl: this.deps.defaultDirectoryUrl, caBundlePem: null };
  }

  /** The parent's one ACME account key, made on first use and kept in the data folder, readable by the parent only. */
  private accountKey(): Promise<string> {
    const dir = join(this.deps.dataDir, 'acme');
    const file = join(dir, 'account.key');
    if (existsSync(file)) return Promise.resolve(readFileSync(file, 'utf8'));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return AcmeIssuer.createAccountKey().then((key) => {
      writeFileSync(file, key, { mode: 0o600, flag: 'wx' });
      return key;
    });
  }

  issuer(): Promise<AcmeIssuer> {
    this.issuerPromise ??= (async () => {
      const settings = await this.acmeSettings();
      if (!settings) throw new ConflictError(NO_DIRECTORY);
      return new AcmeIssuer(settings, await this.accountKey());
    })();
    // A refused start (no directory yet) is not kept: the next call reads the settings again.
    this.issuerPromise.catch(() => (this.issuerPromise = undefined));
    return this.issuerPromise;
  }

  async setAcmeSettings(principal: Principal, directoryUrl: string, caBundlePem: string | null): Promise<AcmeSettingsView> {
    if (principal.role !== 'admin') throw new ForbiddenError('only the admin sets the ACME directory');
    let url: URL;
    try {
      url = new URL(directoryUrl);
    } catch {
      throw new ValidationError('directoryUrl', 'must be an absolute https:// URL');
    }
    if (url.protocol !== 'https:') throw new ValidationError('directoryUrl', 'must be an https:// URL (ACME runs over HTTPS only)');
    if (caBundlePem !== null && !/-----BEGIN CERTIFICATE-----/.test(caBundlePem)) throw new ValidationError('caBundle', 'must hold PEM certificates');
    await this.deps.repo.saveSettings({ directoryUrl: url.toString(), caBundlePem }, this.deps.now());
    this.issuerPromise = undefined;
    return { directoryUrl: url.toString(), caBundle: caBundlePem !== null };
  }

  async acmeSettingsView(principal: Principal): Promise<AcmeSettingsView> {
    if (principal.role !== 'admin') throw new ForbiddenError('only the admin reads the ACME directory');
    const settings = await this.acmeSettings();
    return { directoryUrl: settings?.directoryUrl ?? null, caBundle: settings?.caBundlePem != null };
  }

  // ---- certificates

  /** A self-signed certificate for the account's names, so TLS answers before the first order. */
  async ensurePlaceholder(account: Pick<AccountRecord, 'id' | 'domain'>): Promise<boolean> {
    if (await this.deps.repo.byAccount(account.id)) return false;
    const names = accountCertificateNames(account.domain);
    const placeholder = await selfSigned(account.domain, names);
    const now = this.deps.now();
    await this.deps.repo.saveServing(
      { accountId: account.id, names, kind: 'self-signed', certPem: placeholder.certPem, keyPem: placeholder.keyPem, issuer: 'self-signed (the node certificate answers until an order goes through)', notBefore: now - 60_000, notAfter: now + 10 * 365 * 24 * 3600 * 1000, renewAt: now },
      now,
    );
    return true;
  }

  /** The certificate (with its key) that serves the account now, or undefined before its placeholder exists. */
  async serving(account: Pick<AccountRecord, 'id'>): Promise<CertificateRow | undefined> {
    return this.deps.repo.byAccount(account.id);
  }

  private view(account: Pick<AccountRecord, 'username' | 'domain'>, row: CertificateRow): CertificateView {
    const iso = (ms: number): string => new Date(ms).toISOString();
    return {
      account: account.username,
      domain: account.domain,
      names: row.names,
      kind: row.kind,
      issuer: row.issuer,
      notBefore: iso(row.notBefore),
      notAfter: iso(row.notAfter),
      renewAt: iso(row.renewAt),
      lastError: row.lastError,
      failures: row.failures,
      retryAt: row.retryAt === null ? null : iso(row.retryAt),
      warning: expiryWarning(row, this.deps.now()),
    };
  }

  async status(principal: Principal, username?: string): Promise<CertificateView[]> {
    const usernames = username === undefined ? (await this.deps.accounts.list(principal)).map((a) => a.username) : [username];
    const views: CertificateView[] = [];
    for (const name of usernames) {
      const account = await this.deps.accounts.requireAccount(principal, name, 'user');
      const row = await this.deps.repo.byAccount(account.id);
      if (row) views.push(this.view(account, row));
    }
    return views;
  }

  /** The warning for `account show`, or null. */
  async warningFor(account: Pick<AccountRecord, 'id'>): Promise<string | null> {
    const row = await this.deps.repo.byAccount(account.id);
    return row ? expiryWarning(row, this.deps.now()) : null;
  }

  /**
   * The certificates a node serves (for `node show`): those of the accounts whose site or mail it
   * holds, and on the parent's own node every issued one (it proxies and relays the others).
   */
  async onNode(principal: Principal, alias: string): Promise<CertificateView[]> {
    if (principal.role !== 'admin') throw new ForbiddenError('only the admin reads the certificates of a node');
    const node = (await this.deps.nodes.list()).find((n) => n.alias === alias);
    if (!node) throw new NotFoundError('node', alias);
    const views: CertificateView[] = [];
    for (const placed of await this.deps.repo.placements()) {
      if (node.is_local !== 1 && !placed.nodeIds.includes(node.id)) continue;
      const row = await this.deps.repo.byAccount(placed.accountId);
      if (row) views.push(this.view(placed, row));
    }
    return views;
  }

  /** Orders a certificate now (renewal forced early), optionally with extra names inside the account's zone. */
  async renew(principal: Principal, username: string, extraNames: readonly string[] = []): Promise<JobView> {
    const account = await this.deps.accounts.requireAccount(principal, username, 'owner');
    const names = orderNames(account.domain, extraNames);
    if (!(await this.acmeSettings())) throw new ConflictError(NO_DIRECTORY);
    await this.ensurePlaceholder(account);
    return this.enqueue(account.username, names, principal.username, 'refuse');
  }

  private async enqueue(username: string, names: string[], by: string, ifBusy: 'refuse' | 'queue'): Promise<JobView> {
    const data: IssueCertificateData = { account: username, names };
    return this.deps.jobs.enqueue({ type: ISSUE_CERTIFICATE_JOB, key: `certificate:${username}`, data, ifBusy, createdBy: by });
  }

  /** Who hears of every certificate's expiry (the admin's notifications), set once both are built. */
  observeExpiry(observer: ExpiryObserver): void {
    this.expiryObserver = observer;
  }

  /**
   * Tells the observer every serving certificate at once (each account's, by its domain, and
   * `others` such as the panel's), so one that is gone is known to be gone.
   */
  async reportExpiries(others: readonly CertificateHealth[] = []): Promise<void> {
    if (!this.expiryObserver) return;
    const rows = await this.deps.repo.list();
    await this.expiryObserver([...rows.map((row) => healthOf(row.names[0]!, row)), ...others]);
  }

  /**
   * One pass of the renewal loop: placeholders for accounts that have none (each is then due at
   * once), then an order for every certificate past its renewal point and not backing off.
   * Returns the accounts whose placeholder is new, so the caller puts them in service.
   */
  async tick(): Promise<{ placeholders: string[]; ordered: string[] }> {
    const placeholders: string[] = [];
    for (const account of await this.deps.repo.accountsWithout()) {
      if (await this.ensurePlaceholder(account)) placeholders.push(account.username);
    }
    const ordered: string[] = [];
    if (!(await this.acmeSettings())) return { placeholders, ordered };
    for (const due of await this.deps.repo.due(this.deps.now())) {
      try {
        await this.enqueue(due.username, due.names, 'renewal', 'refuse');
        ordered.push(due.username);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        // An order (or another job of the account's certificate) is under way already.
      }
    }
    return { placeholders, ordered };
  }
}
