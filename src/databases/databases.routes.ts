import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { principalOf } from '../auth/guards.ts';
import type { DatabasesService } from './databases.service.ts';
import { MAX_IMPORT_BYTES } from '../protocol/databases.ts';

/** Names are checked by the service (account prefix and grammar) so the refusal names the field; this is a coarse bound. */
const Name = Type.String({ minLength: 1, maxLength: 200 });
const AccountParams = Type.Object({ username: Type.String({ format: 'fp-username' }) });
const DatabaseParams = Type.Object({ username: Type.String({ format: 'fp-username' }), name: Name });
const UserParams = Type.Object({ username: Type.String({ format: 'fp-username' }), user: Name });

const DatabaseSchema = Type.Object({ name: Type.String(), node: Type.String(), sizeBytes: Type.Union([Type.Integer(), Type.Null()], { description: 'null when the node did not answer' }) });

const DatabaseListSchema = Type.Object({
  account: Type.String(),
  node: Type.Union([Type.String(), Type.Null()]),
  databases: Type.Array(DatabaseSchema),
  users: Type.Array(Type.Object({ name: Type.String(), host: Type.Union([Type.String(), Type.Null()]), databases: Type.Array(Type.String()) })),
  usedBytes: Type.Integer(),
  maxDatabases: Type.Integer(),
});

export function registerDatabaseRoutes(app: HttpApp, databases: DatabasesService): void {
  const tags = ['databases'];
  app.get('/api/accounts/:username/databases', { schema: { tags, summary: "The account's databases with their node and size, and its database users", params: AccountParams, response: { 200: DatabaseListSchema } } }, async (request) =>
    databases.list(principalOf(request), request.params.username),
  );
  app.post(
    '/api/accounts/:username/databases',
    { schema: { tags, summary: 'Create a database named <account>_<name> on the account\'s database node', params: AccountParams, body: Type.Object({ name: Name, node: Type.Optional(Type.String({ format: 'fp-alias' })) }, { additionalProperties: false }), response: { 201: DatabaseSchema } } },
    async (request, reply) => reply.status(201).send(await databases.create(principalOf(request), request.params.username, request.body.name, { node: request.body.node })),
  );
  app.delete('/api/accounts/:username/databases/:name', { schema: { tags, summary: 'Drop a database', params: DatabaseParams, response: { 200: Type.Object({ dropped: Type.String() }) } } }, async (request) =>
    databases.drop(principalOf(request), request.params.username, request.params.name),
  );
  app.get('/api/accounts/:username/databases/:name/dump', { schema: { tags, summary: 'An SQL dump of the database', params: DatabaseParams, response: { 200: Type.Object({ sql: Type.String() }) } } }, async (request) => ({
    sql: await databases.dump(principalOf(request), request.params.username, request.params.name),
  }));
  app.put(
    '/api/accounts/:username/databases/:name/import',
    { bodyLimit: MAX_IMPORT_BYTES, schema: { tags, summary: 'Run an SQL file (a dump) inside the database', params: DatabaseParams, body: Type.Object({ sql: Type.String() }, { additionalProperties: false }), response: { 200: Type.Object({ imported: Type.String() }) } } },
    async (request) => databases.import(principalOf(request), request.params.username, request.params.name, request.body.sql),
  );
  app.put(
    '/api/accounts/:username/database-users/:user',
    { schema: { tags, summary: 'Create a database user or change its password (allowed only from the account\'s web node)', params: UserParams, body: Type.Object({ password: Type.String({ maxLength: 1024 }), mustExist: Type.Optional(Type.Boolean()) }, { additionalProperties: false }), response: { 200: Type.Object({ user: Type.String(), host: Type.String() }) } } },
    async (request) => databases.setUser(principalOf(request), request.params.username, request.params.user, request.body.password, { mustExist: request.body.mustExist }),
  );
  app.delete('/api/accounts/:username/database-users/:user', { schema: { tags, summary: 'Remove a database user', params: UserParams, response: { 200: Type.Object({ removed: Type.String() }) } } }, async (request) =>
    databases.removeUser(principalOf(request), request.params.username, request.params.user),
  );
  app.put(
    '/api/accounts/:username/database-users/:user/grants/:database',
    { schema: { tags, summary: 'Give the user all privileges on one of the account\'s databases', params: Type.Object({ username: Type.String({ format: 'fp-username' }), user: Name, database: Name }), response: { 200: Type.Object({ user: Type.String(), database: Type.String() }) } } },
    async (request) => databases.grant(principalOf(request), request.params.username, request.params.user, request.params.database),
  );
}
