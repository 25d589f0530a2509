import type { Kysely } from 'kysely';

export interface TransferWebProxyTables {
  transfer_exports: {
    /**
     * Set once the account's site files are at the target: this pair's web node forwards the
     * site's requests to the target's web node at this address until the account is removed here.
     */
    target_web_address: string | null;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('transfer_exports').addColumn('target_web_address', 'varchar(45)').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('transfer_exports').dropColumn('target_web_address').execute();
}
