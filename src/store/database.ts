/**
 * The parent's store: Kysely over SQLite (a file in the data folder, the default) or PostgreSQL
 * (`--database postgres://…`). Every query is written once and runs on both.
 */
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { Database } from './schema.ts';
import { migrateToLatest } from './migrations.ts';

export type Store = Kysely<Database>;
export type StoreDialect = 'sqlite' | 'postgres';

export interface OpenedStore {
  db: Store;
  dialect: StoreDialect;
  close(): Promise<void>;
}

export async function openStore(url: string): Promise<OpenedStore> {
  let db: Store;
  let dialect: StoreDialect;
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    dialect = 'postgres';
    // BIGINT columns come back as strings by default; ours are epoch milliseconds and counters.
    pg.types.setTypeParser(20, (value: string) => Number(value));
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 10 }) }) });
  } else {
    dialect = 'sqlite';
    const file = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
    const connection = new SQLite(file);
    connection.pragma('journal_mode = WAL');
    connection.pragma('busy_timeout = 5000');
    connection.pragma('foreign_keys = ON');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection }) });
  }
  await migrateToLatest(db);
  return { db, dialect, close: () => db.destroy() };
}

/** Creates a throw-away PostgreSQL database (for tests) and returns its URL and a drop function. */
export async function createScratchPostgres(adminUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}`.toLowerCase();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      // A closed pool has told its connections to end but not waited for them: forced off while
      // still ending, a client raises 57P01 with nobody listening (an uncaught error in a test run).
      // So they get a few seconds to leave; FORCE then ends only what stays.
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [name]);
        if (rows[0]?.n === '0') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export { sql };
