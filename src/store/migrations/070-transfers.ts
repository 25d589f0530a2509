import type { Kysely } from 'kysely';

export interface TransfersTables {
  /**
   * Accounts this parent imported from another parent whose transfer is not finished: their mail
   * node holds deliveries while the source copies the mailboxes in (the hold-queue rule of
   * distribution), and the source may still abort the import, which removes the account.
   */
  transfer_imports: {
    account_id: number;
    /** the name the source parent gave (for the admin's view) */
    source: string;
    created_at: number;
  };
  /**
   * Accounts this parent is transferring away. Once `target_mail_address` is set the account's
   * mail is routed to the target pair: its nodes here relay the domain to that mail node.
   */
  transfer_exports: {
    account_id: number;
    target_url: string;
    /** the target parent's admin API token, kept here rather than in the job's data (which the job views show); removed with the row */
    target_token: string;
    target_mail_address: string | null;
    created_at: number;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('transfer_imports')
    .addColumn('account_id', 'integer', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('source', 'varchar(253)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('transfer_exports')
    .addColumn('account_id', 'integer', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('target_url', 'varchar(1024)', (c) => c.notNull())
    .addColumn('target_token', 'varchar(512)', (c) => c.notNull())
    .addColumn('target_mail_address', 'varchar(15)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('transfer_exports').execute();
  await db.schema.dropTable('transfer_imports').execute();
}
