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
