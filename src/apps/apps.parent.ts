/** How the application installer plugs into the parent: its service and its route. */
import { Type } from '@sinclair/typebox';
import type { Store } from '../store/database.ts';
import type { HttpApp } from '../transport/http-app.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import type { DatabasesService } from '../databases/databases.service.ts';
import { principalOf } from '../auth/guards.ts';
import { AppsService } from './apps.service.ts';
import { AppsRepository } from './apps.repository.ts';

export interface AppsDeps {
  db: Store;
  accounts: AccountsService;
  databases: DatabasesService;
  connections: NodeConnections;
}

export function buildApps(deps: AppsDeps): AppsService {
  return new AppsService(new AppsRepository(deps.db), deps.accounts, deps.databases, new NodesRepository(deps.db), deps.connections);
}

export function registerAppsRoutes(app: HttpApp, apps: AppsService): void {
  app.post(
    '/api/apps/wordpress',
    {
      schema: {
        tags: ['apps'],
        summary: "Install WordPress on an account's site: database, user and configuration; with title and adminPassword the setup is completed too",
        body: Type.Object({ site: Type.String({ format: 'fp-domain' }), title: Type.Optional(Type.String({ maxLength: 200 })), adminPassword: Type.Optional(Type.String({ minLength: 8, maxLength: 200 })) }, { additionalProperties: false }),
        response: {
          201: Type.Object({
            site: Type.String(),
            account: Type.String(),
            database: Type.String(),
            databaseUser: Type.String(),
            databaseNode: Type.String(),
            webNode: Type.String(),
            setupUrl: Type.Union([Type.String(), Type.Null()], { description: 'where the owner finishes the setup, when it was not completed here' }),
            admin: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request, reply) => reply.status(201).send(await apps.installWordpress(principalOf(request), request.body.site, { title: request.body.title, adminPassword: request.body.adminPassword })),
  );
}
