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

export function registerDatabaseRoutes(app: HttpApp, databases: DatabasesService): void {
  const tags = ['databases'];
  app.get('/api/accounts/:username/databases', { schema: { tags, summary: "The account's databases with their node and size, and its database users", params: AccountParams } }, async (request) =>
    databases.list(principalOf(request), request.params.username),
  );
  app.post(
    '/api/accounts/:username/databases',
    { schema: { tags, summary: 'Create a database named <account>_<name> on the account\'s database node', params: AccountParams, body: Type.Object({ name: Name, node: Type.Optional(Type.String({ format: 'fp-alias' })) }, { additionalProperties: false }) } },
    async (request, reply) => reply.status(201).send(await databases.create(principalOf(request), request.params.username, request.body.name, { node: request.body.node })),
  );
  app.delete('/api/accounts/:username/databases/:name', { schema: { tags, summary: 'Drop a database', params: DatabaseParams } }, async (request) =>
    databases.drop(principalOf(request), request.params.username, request.params.name),
  );
  app.get('/api/accounts/:username/databases/:name/dump', { schema: { tags, summary: 'An SQL dump of the database', params: DatabaseParams } }, async (request) => ({
    sql: await databases.dump(principalOf(request), request.params.username, request.params.name),
  }));
  app.put(
    '/api/accounts/:username/databases/:name/import',
    { bodyLimit: MAX_IMPORT_BYTES, schema: { tags, summary: 'Run an SQL file (a dump) inside the database', params: DatabaseParams, body: Type.Object({ sql: Type.String() }, { additionalProperties: false }) } },
    async (request) => databases.import(principalOf(request), request.params.username, request.params.name, request.body.sql),
  );
  app.put(
    '/api/accounts/:username/database-users/:user',
    { schema: { tags, summary: 'Create a database user or change its password (allowed only from the account\'s web node)', params: UserParams, body: Type.Object({ password: Type.String({ maxLength: 1024 }), mustExist: Type.Optional(Type.Boolean()) }, { additionalProperties: false }) } },
    async (request) => databases.setUser(principalOf(request), request.params.username, request.params.user, request.body.password, { mustExist: request.body.mustExist }),
  );
  app.delete('/api/accounts/:username/database-users/:user', { schema: { tags, summary: 'Remove a database user', params: UserParams } }, async (request) =>
    databases.removeUser(principalOf(request), request.params.username, request.params.user),
  );
  app.put(
    '/api/accounts/:username/database-users/:user/grants/:database',
    { schema: { tags, summary: 'Give the user all privileges on one of the account\'s databases', params: Type.Object({ username: Type.String({ format: 'fp-username' }), user: Name, database: Name }) } },
    async (request) => databases.grant(principalOf(request), request.params.username, request.params.user, request.params.database),
  );
}
