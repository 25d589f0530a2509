import type { Kysely } from 'kysely';

/**
 * Notifications and metrics (090-099). Settings are single values by key (the admin's address,
 * the webhook and its secret, the metrics token); an alert is open from its notification until
 * its recovery was sent, which is what makes each problem notified once.
 */
export interface HealingTables {
  healing_settings: {
    key: string;
    value: string;
  };
  open_alerts: {
    key: string;
    kind: string;
    subject: string;
    opened_at: number;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('healing_settings')
    .addColumn('key', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('open_alerts')
    .addColumn('key', 'varchar(300)', (c) => c.primaryKey())
    .addColumn('kind', 'varchar(40)', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('opened_at', 'bigint', (c) => c.notNull())
    .execute();
}
