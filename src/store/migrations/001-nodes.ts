import type { Kysely, Generated } from 'kysely';
import { autoId } from './helpers.ts';

export interface NodesTables {
  nodes: {
    id: Generated<number>;
    alias: string;
    host: string;
    agent_port: number;
    profile: string;
    roles: string; // JSON array
    status: string;
    status_detail: string | null;
    is_local: number; // 1 for the parent's own node
    agent_version: string | null;
    services: string; // JSON array of { name, running }
    server_cert_fingerprint: string | null;
    tls_verified: number;
    last_check_at: number | null;
    last_seen_at: number | null;
    created_at: number;
  };
  settings: {
    key: string;
    value: string;
  };
  node_events: {
    id: Generated<number>;
    node_id: number;
    at: number;
    status: string;
    message: string;
  };
}

// Migrations are typed against `any` on purpose: they describe past shapes of the schema.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('nodes')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('alias', 'varchar(50)', (c) => c.notNull().unique())
    .addColumn('host', 'varchar(253)', (c) => c.notNull())
    .addColumn('agent_port', 'integer', (c) => c.notNull())
    .addColumn('profile', 'varchar(16)', (c) => c.notNull())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('status_detail', 'text')
    .addColumn('is_local', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('agent_version', 'varchar(32)')
    .addColumn('services', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('server_cert_fingerprint', 'varchar(100)')
    .addColumn('tls_verified', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_check_at', 'bigint')
    .addColumn('last_seen_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('settings')
    .addColumn('key', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('node_events')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('node_id', 'integer', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .execute();
}
