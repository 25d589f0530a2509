/**
 * The database workload on a node: its MariaDB server, and the routes through which the parent
 * creates an account's databases, users and grants, lists them with their sizes, dumps, imports
 * and drops them. The node checks every name again (account prefix and grammar) before SQL.
 */
import type { AgentModule } from '../agent/agent-module.ts';
import { requireDaemon } from '../agent/require-daemon.ts';
import type { Readable } from 'node:stream';
import {
  DATABASE_SQL_TYPE,
  DatabaseAccountParams as AccountParams,
  DatabaseGrantParams,
  DatabaseImportRequest,
  DatabaseLockRequest,
  DatabaseUserHashRequest,
  DatabaseParams,
  DatabaseUserParams as UserParams,
  DatabaseUserRequest,
  MAX_IMPORT_BYTES,
  type DatabaseCredential,
  type DatabaseDigest,
  type DatabasesOfAccount,
} from '../protocol/databases.ts';
import { MARIADB_DAEMON, MariadbDriver } from './mariadb.driver.ts';

export const databasesAgentModule: AgentModule = {
  name: 'databases',
  role: 'database',
  daemons: (ctx) => [new MariadbDriver(ctx)],
  register(app, ctx) {
    const mariadb = (): MariadbDriver => requireDaemon<MariadbDriver>(ctx, MARIADB_DAEMON, 'database');

    app.get('/v1/databases/:account', { schema: { params: AccountParams } }, async (request): Promise<DatabasesOfAccount> => {
      const { account } = request.params;
      return { databases: await mariadb().listDatabases(account), users: await mariadb().listUsers(account) };
    });
    app.delete('/v1/databases/:account', { schema: { params: AccountParams } }, async (request) => mariadb().dropAccount(request.params.account));

    app.put('/v1/databases/:account/databases/:name', { schema: { params: DatabaseParams } }, async (request) => {
      await mariadb().createDatabase(request.params.account, request.params.name);
      return { created: request.params.name };
    });
    app.delete('/v1/databases/:account/databases/:name', { schema: { params: DatabaseParams } }, async (request) => {
      await mariadb().dropDatabase(request.params.account, request.params.name);
      return { dropped: request.params.name };
    });
    app.get('/v1/databases/:account/databases/:name/dump', { schema: { params: DatabaseParams } }, async (request) => ({
      sql: await mariadb().dump(request.params.account, request.params.name),
    }));
    app.put(
      '/v1/databases/:account/databases/:name/import',
      { bodyLimit: MAX_IMPORT_BYTES, schema: { params: DatabaseParams, body: DatabaseImportRequest } },
      async (request) => {
        await mariadb().import(request.params.account, request.params.name, request.body.sql);
        return { imported: request.params.name };
      },
    );

    app.put(
      '/v1/databases/:account/users/:user',
      { schema: { params: UserParams, body: DatabaseUserRequest } },
      async (request) => {
        await mariadb().setUser(request.params.account, request.params.user, request.body.password, request.body.host);
        return { user: request.params.user };
      },
    );
    app.delete('/v1/databases/:account/users/:user', { schema: { params: UserParams } }, async (request) => {
      await mariadb().dropUser(request.params.account, request.params.user);
      return { dropped: request.params.user };
    });
    // An account transfer to another pair: hashes out and in, writers locked while the copy is taken, SQL streamed both ways, copies compared.
    app.get('/v1/databases/:account/credentials', { schema: { params: AccountParams } }, async (request): Promise<{ users: DatabaseCredential[] }> => ({
      users: await mariadb().credentials(request.params.account),
    }));
    app.put('/v1/databases/:account/users/:user/hash', { schema: { params: UserParams, body: DatabaseUserHashRequest } }, async (request) => {
      await mariadb().setUserHash(request.params.account, request.params.user, request.body.passwordHash, request.body.host);
      return { user: request.params.user };
    });
    app.post('/v1/databases/:account/lock', { schema: { params: AccountParams, body: DatabaseLockRequest } }, async (request) => ({
      users: await mariadb().lockUsers(request.params.account, request.body.locked),
    }));
    app.get('/v1/databases/:account/databases/:name/digest', { schema: { params: DatabaseParams } }, async (request): Promise<DatabaseDigest> => mariadb().digest(request.params.account, request.params.name));
    app.get('/v1/databases/:account/databases/:name/sql', { schema: { params: DatabaseParams } }, async (request, reply) =>
      reply.type(DATABASE_SQL_TYPE).send(await mariadb().dumpStream(request.params.account, request.params.name)),
    );
    app.register(async (scoped) => {
      // The body stays a stream: it goes into the mariadb client as it arrives.
      scoped.addContentTypeParser(DATABASE_SQL_TYPE, (_request, payload, done) => done(null, payload));
      scoped.put('/v1/databases/:account/databases/:name/sql', { schema: { params: DatabaseParams } }, async (request) => {
        const { account, name } = request.params as { account: string; name: string };
        await mariadb().restoreStream(account, name, request.body as Readable);
        return { restored: name };
      });
    });
    app.put(
      '/v1/databases/:account/users/:user/grants/:database',
      { schema: { params: DatabaseGrantParams } },
      async (request) => {
        await mariadb().grant(request.params.account, request.params.user, request.params.database);
        return { user: request.params.user, database: request.params.database };
      },
    );
  },
};
