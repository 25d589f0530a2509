import type { Kysely } from 'kysely';

export interface TransferForwardsTables {
  /**
   * Domains this parent transferred away: its own node keeps relaying their mail to the target's
   * mail node until `until`, so a message accepted while the removal reloads Postfix, or sent by
   * a client that still has the old MX, reaches the new pair instead of bouncing.
   */
  transfer_forwards: {
    domain: string;
    account: string;
    target_mail_address: string;
    until: number;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('transfer_forwards')
    .addColumn('domain', 'varchar(253)', (c) => c.primaryKey())
    .addColumn('account', 'varchar(16)', (c) => c.notNull())
    .addColumn('target_mail_address', 'varchar(15)', (c) => c.notNull())
    .addColumn('until', 'bigint', (c) => c.notNull())
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('transfer_forwards').execute();
}
