/**
 * The database workload on a node: its MariaDB server, and the routes through which the parent
 * creates an account's databases, users and grants, lists them with their sizes, dumps, imports
 * and drops them. The node checks every name again (account prefix and grammar) before SQL.
 */
import type { AgentModule } from '../agent/agent-module.ts';
import { requireDaemon } from '../agent/require-daemon.ts';
import {
  DatabaseAccountParams as AccountParams,
  DatabaseGrantParams,
  DatabaseImportRequest,
  DatabaseParams,
  DatabaseUserParams as UserParams,
  DatabaseUserRequest,
  MAX_IMPORT_BYTES,
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
