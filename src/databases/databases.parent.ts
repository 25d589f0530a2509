/**
 * How the database workload plugs into the parent: the service, its routes, and the termination
 * step that drops an account's databases and users on whichever node holds them.
 */
import type { Store } from '../store/database.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import type { PasswordPolicyService } from '../passwords/password-policy.service.ts';
import { DatabasesRepository } from './databases.repository.ts';
import { DatabasesService, databaseAgentsOver } from './databases.service.ts';

export { registerDatabaseRoutes } from './databases.routes.ts';

export interface DatabasesDeps {
  db: Store;
  accounts: AccountsService;
  passwords: PasswordPolicyService;
  connections: NodeConnections;
}

export function buildDatabases(deps: DatabasesDeps): DatabasesService {
  const databases = new DatabasesService(new DatabasesRepository(deps.db), deps.accounts, new NodesRepository(deps.db), deps.passwords, databaseAgentsOver(deps.connections));
  deps.accounts.addTerminationStep((account) => databases.removeAccount(account));
  return databases;
}
