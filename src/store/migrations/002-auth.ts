import type { Kysely, Generated } from 'kysely';
import { autoId } from './helpers.ts';

export interface AuthTables {
  users: {
    id: Generated<number>;
    username: string;
    /** admin | reseller | user */
    role: string;
    password_hash: string;
    /** the reseller (or admin) who owns this login's account */
    owner: string | null;
    created_at: number;
  };
  api_tokens: {
    id: Generated<number>;
    token_hash: string;
    username: string;
    label: string;
    expires_at: number | null;
    created_at: number;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('username', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('owner', 'varchar(64)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('username', 'varchar(64)', (c) => c.notNull())
    .addColumn('label', 'varchar(100)', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}
