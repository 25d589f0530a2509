import type { Kysely } from 'kysely';

export interface WebSitesTables {
  /** A site's own choices; an account without a row keeps the defaults (HTTP and HTTPS both serve the site). */
  web_site_options: {
    account_id: number;
    /** 1: plain HTTP answers every request with a permanent redirect to the same URL over HTTPS */
    https_redirect: number;
    updated_at: number;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('web_site_options')
    .addColumn('account_id', 'integer', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('https_redirect', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
