import type { Kysely } from 'kysely';

export interface CertificatesTables {
  /** The parent's ACME settings: one row (id 1); absent means Let's Encrypt production. */
  acme_settings: {
    id: number;
    directory_url: string;
    /** extra CAs to trust for the directory's HTTPS, PEM, or null */
    ca_bundle: string | null;
    updated_at: number;
  };
  /**
   * The certificate of an account: the one that serves (self-signed until an ACME one is issued)
   * and the state of its next order. Keys stay in the store and go only to the nodes; no view
   * of this table carries them.
   */
  certificates: {
    account_id: number;
    /** JSON array of the names it must cover, apex first */
    names: string;
    /** 'self-signed' | 'issued' */
    kind: string;
    cert_pem: string;
    key_pem: string;
    issuer: string;
    not_before: number;
    not_after: number;
    /** epoch ms from which it is renewed: two thirds of an issued lifetime, at once for a self-signed one */
    renew_at: number;
    /** the key of the order under way, kept here (not in the job's data, which the API shows) */
    pending_key_pem: string | null;
    last_error: string | null;
    failures: number;
    /** epoch ms before which a failed order is not tried again (back-off) */
    retry_at: number | null;
    updated_at: number;
  };
  /** DNS-01 answers published in an account's zone while an order waits for validation. */
  acme_challenges: {
    account_id: number;
    record_name: string;
    value: string;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('acme_settings')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('directory_url', 'text', (c) => c.notNull())
    .addColumn('ca_bundle', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('certificates')
    .addColumn('account_id', 'integer', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('names', 'text', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('cert_pem', 'text', (c) => c.notNull())
    .addColumn('key_pem', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('not_before', 'bigint', (c) => c.notNull())
    .addColumn('not_after', 'bigint', (c) => c.notNull())
    .addColumn('renew_at', 'bigint', (c) => c.notNull())
    .addColumn('pending_key_pem', 'text')
    .addColumn('last_error', 'text')
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('retry_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('acme_challenges')
    .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('record_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('value', 'varchar(128)', (c) => c.notNull())
    .addPrimaryKeyConstraint('acme_challenges_pk', ['account_id', 'record_name', 'value'])
    .execute();
}
