/** All SQL of certificates: the ACME settings, each account's certificate, and the challenge records published for an order. */
import type { Selectable } from 'kysely';
import type { Store } from '../store/database.ts';
import type { CertificatesTables } from '../store/migrations/080-certificates.ts';

export interface AcmeSettingsRow {
  directoryUrl: string;
  caBundlePem: string | null;
}

export type CertificateKind = 'self-signed' | 'issued';

/** What a certificate in service and its next order are, for an account's names and for the panel's own name alike. */
export interface CertificateState {
  kind: CertificateKind;
  certPem: string;
  keyPem: string;
  issuer: string;
  notBefore: number;
  notAfter: number;
  renewAt: number;
  pendingKeyPem: string | null;
  lastError: string | null;
  failures: number;
  retryAt: number | null;
  updatedAt: number;
}

export interface CertificateRow extends CertificateState {
  accountId: number;
  names: string[];
}

export interface ChallengeRecord {
  recordName: string;
  value: string;
}

type Row = Selectable<CertificatesTables['certificates']>;

type StateColumns = Pick<Row, 'kind' | 'cert_pem' | 'key_pem' | 'issuer' | 'not_before' | 'not_after' | 'renew_at' | 'pending_key_pem' | 'last_error' | 'failures' | 'retry_at' | 'updated_at'>;

// PostgreSQL hands bigint columns back as strings, whatever the table's declared type says.
export const certificateStateOf = (r: StateColumns): CertificateState => ({
  kind: r.kind as CertificateKind,
  certPem: r.cert_pem,
  keyPem: r.key_pem,
  issuer: r.issuer,
  notBefore: Number(r.not_before),
  notAfter: Number(r.not_after),
  renewAt: Number(r.renew_at),
  pendingKeyPem: r.pending_key_pem,
  lastError: r.last_error,
  failures: r.failures,
  retryAt: r.retry_at === null ? null : Number(r.retry_at),
  updatedAt: Number(r.updated_at),
});

/** What an order fills in; putting a certificate in service clears it. */
export type ServingOmits = 'pendingKeyPem' | 'lastError' | 'failures' | 'retryAt' | 'updatedAt';

/** The columns of a certificate put in service, with the order state cleared. */
export const servingColumns = (row: Omit<CertificateState, ServingOmits>, now: number) => ({
  kind: row.kind,
  cert_pem: row.certPem,
  key_pem: row.keyPem,
  issuer: row.issuer,
  not_before: row.notBefore,
  not_after: row.notAfter,
  renew_at: row.renewAt,
  pending_key_pem: null,
  last_error: null,
  failures: 0,
  retry_at: null,
  updated_at: now,
});

const toRow = (r: Row): CertificateRow => ({ accountId: r.account_id, names: JSON.parse(r.names) as string[], ...certificateStateOf(r) });

export class CertificatesRepository {
  constructor(private readonly db: Store) {}

  async settings(): Promise<AcmeSettingsRow | undefined> {
    const row = await this.db.selectFrom('acme_settings').select(['directory_url', 'ca_bundle']).where('id', '=', 1).executeTakeFirst();
    return row && { directoryUrl: row.directory_url, caBundlePem: row.ca_bundle };
  }

  async saveSettings(settings: AcmeSettingsRow, now: number): Promise<void> {
    await this.db
      .insertInto('acme_settings')
      .values({ id: 1, directory_url: settings.directoryUrl, ca_bundle: settings.caBundlePem, updated_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ directory_url: settings.directoryUrl, ca_bundle: settings.caBundlePem, updated_at: now }))
      .execute();
  }

  async byAccount(accountId: number): Promise<CertificateRow | undefined> {
    const row = await this.db.selectFrom('certificates').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    return row && toRow(row);
  }

  async list(): Promise<CertificateRow[]> {
    return (await this.db.selectFrom('certificates').selectAll().orderBy('account_id').execute()).map(toRow);
  }

  /** Accounts that have no certificate row yet: new accounts, or ones made before certificates existed. */
  async accountsWithout(): Promise<{ id: number; username: string; domain: string }[]> {
    return this.db
      .selectFrom('accounts')
      .leftJoin('certificates', 'certificates.account_id', 'accounts.id')
      .select(['accounts.id as id', 'accounts.username as username', 'accounts.domain as domain'])
      .where('certificates.account_id', 'is', null)
      .execute();
  }

  /** Certificates due for an order at `now`: past their renewal point and not backing off. */
  async due(now: number): Promise<{ username: string; names: string[] }[]> {
    const rows = await this.db
      .selectFrom('certificates')
      .innerJoin('accounts', 'accounts.id', 'certificates.account_id')
      .select(['accounts.username as username', 'certificates.names as names'])
      .where('certificates.renew_at', '<=', now)
      .where((eb) => eb.or([eb('certificates.retry_at', 'is', null), eb('certificates.retry_at', '<=', now)]))
      .execute();
    return rows.map((r) => ({ username: r.username, names: JSON.parse(r.names) as string[] }));
  }

  /** Puts a certificate in service (a self-signed placeholder or an issued one), clearing the order state. */
  async saveServing(row: Omit<CertificateRow, ServingOmits>, now: number): Promise<void> {
    const values = { names: JSON.stringify(row.names), ...servingColumns(row, now) };
    await this.db
      .insertInto('certificates')
      .values({ account_id: row.accountId, ...values })
      .onConflict((oc) => oc.column('account_id').doUpdateSet(values))
      .execute();
  }

  async setPendingKey(accountId: number, keyPem: string, now: number): Promise<void> {
    await this.db.updateTable('certificates').set({ pending_key_pem: keyPem, updated_at: now }).where('account_id', '=', accountId).execute();
  }

  async recordFailure(accountId: number, error: string, retryAt: number, now: number): Promise<void> {
    await this.db
      .updateTable('certificates')
      .set((eb) => ({ last_error: error, failures: eb('failures', '+', 1), retry_at: retryAt, pending_key_pem: null, updated_at: now }))
      .where('account_id', '=', accountId)
      .execute();
  }

  /** Asks for an order at once (a forced renewal), without touching the certificate that serves. */
  async renewNow(accountId: number, now: number): Promise<void> {
    await this.db.updateTable('certificates').set({ renew_at: now, retry_at: null, updated_at: now }).where('account_id', '=', accountId).execute();
  }

  async challenges(accountId: number): Promise<ChallengeRecord[]> {
    const rows = await this.db.selectFrom('acme_challenges').select(['record_name', 'value']).where('account_id', '=', accountId).orderBy('record_name').execute();
    return rows.map((r) => ({ recordName: r.record_name, value: r.value }));
  }

  async addChallenges(accountId: number, records: readonly ChallengeRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db
      .insertInto('acme_challenges')
      .values(records.map((r) => ({ account_id: accountId, record_name: r.recordName, value: r.value })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async removeChallenges(accountId: number): Promise<void> {
    await this.db.deleteFrom('acme_challenges').where('account_id', '=', accountId).execute();
  }

  /**
   * Each issued certificate with the nodes holding the account's site or mail (the nodes that
   * answer TLS for its names). A self-signed placeholder stays at the parent: until an order goes
   * through, the node's own certificate answers, and no daemon reloads for a placeholder.
   */
  async placements(): Promise<{ accountId: number; username: string; domain: string; updatedAt: number; nodeIds: number[] }[]> {
    const rows = await this.db
      .selectFrom('certificates')
      .where('certificates.kind', '=', 'issued')
      .innerJoin('accounts', 'accounts.id', 'certificates.account_id')
      .leftJoin('workload_placements', (join) => join.onRef('workload_placements.account_id', '=', 'certificates.account_id').on('workload_placements.workload', 'in', ['web', 'mail']))
      .select(['certificates.account_id as accountId', 'accounts.username as username', 'accounts.domain as domain', 'certificates.updated_at as updatedAt', 'workload_placements.node_id as nodeId'])
      .orderBy('certificates.account_id')
      .execute();
    const byAccount = new Map<number, { accountId: number; username: string; domain: string; updatedAt: number; nodeIds: number[] }>();
    for (const row of rows) {
      const entry = byAccount.get(row.accountId) ?? { accountId: row.accountId, username: row.username, domain: row.domain, updatedAt: Number(row.updatedAt), nodeIds: [] };
      if (row.nodeId !== null && !entry.nodeIds.includes(row.nodeId)) entry.nodeIds.push(row.nodeId);
      byAccount.set(row.accountId, entry);
    }
    return [...byAccount.values()];
  }
}
