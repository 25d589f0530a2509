import type { Kysely } from 'kysely';

/**
 * The certificate the parent's own HTTPS serves (`fleetpanel parent --hostname`): one row (id 1),
 * self-signed until its ACME order goes through, then renewed like an account's. Its DNS-01
 * answers go into the zone of the account that holds the host name.
 */
export interface PanelCertificateTables {
  panel_certificate: {
    id: number;
    hostname: string;
    kind: string;
    cert_pem: string;
    key_pem: string;
    issuer: string;
    not_before: number;
    not_after: number;
    renew_at: number;
    pending_key_pem: string | null;
    last_error: string | null;
    failures: number;
    retry_at: number | null;
    updated_at: number;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('panel_certificate')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('hostname', 'varchar(253)', (c) => c.notNull())
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
}
