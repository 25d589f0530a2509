import type { Kysely, Generated } from 'kysely';
import { autoId } from './helpers.ts';

/** An account's MariaDB databases and users (issue 13); the data itself lives on the database node. */
export interface DatabasesTables {
  account_databases: {
    id: Generated<number>;
    account_id: number;
    /** `<account>_<name>`, unique across the cluster like MariaDB needs it on one node */
    name: string;
    node_id: number;
    created_at: number;
  };
  database_users: {
    id: Generated<number>;
    account_id: number;
    name: string;
    created_at: number;
  };
  database_grants: {
    user_id: number;
    database_id: number;
  };
  plans: {
    max_databases: Generated<number>;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('plans').addColumn('max_databases', 'integer', (c) => c.notNull().defaultTo(10)).execute();
  await db.schema
    .createTable('account_databases')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id'))
    .addColumn('name', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('node_id', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('database_users')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id'))
    .addColumn('name', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('database_grants')
    .addColumn('user_id', 'integer', (c) => c.notNull())
    .addColumn('database_id', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('database_grants_pk', ['user_id', 'database_id'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('database_grants').execute();
  await db.schema.dropTable('database_users').execute();
  await db.schema.dropTable('account_databases').execute();
  await db.schema.alterTable('plans').dropColumn('max_databases').execute();
}
