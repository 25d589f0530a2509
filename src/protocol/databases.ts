/**
 * What parent and agent exchange about an account's MariaDB databases (routes in agent-routes.ts,
 * served by src/databases/databases.agent-module.ts). The node checks every name again (account
 * prefix and grammar) before any SQL.
 */
import { Type, type Static } from '@sinclair/typebox';

/** A dump travels as one JSON string; large sites' databases still fit. */
export const MAX_IMPORT_BYTES = 512 * 1024 * 1024;

export const DatabaseAccountParams = Type.Object({ account: Type.String({ format: 'fp-username' }) });
export const DatabaseParams = Type.Object({ account: Type.String({ format: 'fp-username' }), name: Type.String({ maxLength: 200 }) });
export const DatabaseUserParams = Type.Object({ account: Type.String({ format: 'fp-username' }), user: Type.String({ maxLength: 200 }) });
export const DatabaseGrantParams = Type.Object({
  account: Type.String({ format: 'fp-username' }),
  user: Type.String({ maxLength: 200 }),
  database: Type.String({ maxLength: 200 }),
});

/** PUT /v1/databases/:account/databases/:name/import: the SQL of a dump. */
export const DatabaseImportRequest = Type.Object({ sql: Type.String() }, { additionalProperties: false });
export type DatabaseImportRequest = Static<typeof DatabaseImportRequest>;

/** PUT /v1/databases/:account/users/:user: its password and the one address it may connect from. */
export const DatabaseUserRequest = Type.Object(
  { password: Type.String({ minLength: 1, maxLength: 512 }), host: Type.String({ format: 'fp-ipv4' }) },
  { additionalProperties: false },
);
export type DatabaseUserRequest = Static<typeof DatabaseUserRequest>;

export interface DatabaseInfo {
  name: string;
  sizeBytes: number;
}

export interface DatabaseUserInfo {
  name: string;
  host: string;
  databases: string[];
}

/** GET /v1/databases/:account: what the node holds of the account. */
export interface DatabasesOfAccount {
  databases: DatabaseInfo[];
  users: DatabaseUserInfo[];
}

/** A database's SQL travels as a stream (mariadb-dump out, the mariadb client in), never held whole in memory. */
export const DATABASE_SQL_TYPE = 'application/sql';

/** MariaDB's mysql_native_password hash: what a transfer moves instead of a password. */
export const NATIVE_PASSWORD_HASH = '^\\*[0-9A-F]{40}$';

/** PUT /v1/databases/:account/users/:user/hash: a user with a password hash from another server. */
export const DatabaseUserHashRequest = Type.Object(
  { passwordHash: Type.String({ pattern: NATIVE_PASSWORD_HASH }), host: Type.String({ format: 'fp-ipv4' }) },
  { additionalProperties: false },
);
export type DatabaseUserHashRequest = Static<typeof DatabaseUserHashRequest>;

/** POST /v1/databases/:account/lock: locked, the account's users cannot log in (and their sessions are ended). */
export const DatabaseLockRequest = Type.Object({ locked: Type.Boolean() }, { additionalProperties: false });
export type DatabaseLockRequest = Static<typeof DatabaseLockRequest>;

/** GET /v1/databases/:account/credentials: each user's hash and the databases it may use. */
export interface DatabaseCredential {
  name: string;
  passwordHash: string;
  databases: string[];
}

/** GET /v1/databases/:account/databases/:name/digest: each table's row count and MariaDB's CHECKSUM TABLE. */
export interface DatabaseDigest {
  tables: { name: string; rows: number; checksum: string | null }[];
}
