/**
 * How the accounts domain plugs into the parent: accounts, plans, resellers and the registry the
 * workload services join. Built before the workloads, which register with `workloads` as they
 * are built; a node that holds an account's workload cannot be unlinked.
 */
import type { Store } from '../store/database.ts';
import type { AuthService } from '../auth/auth.service.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import type { PasswordPolicyService } from '../passwords/password-policy.service.ts';
import { AccountsRepository } from './accounts.repository.ts';
import { AccountsService } from './accounts.service.ts';
import { PlansService } from './plans.service.ts';
import { ResellersService } from './resellers.service.ts';
import { WorkloadRegistry } from './workload.ts';

export { registerAccountRoutes } from './accounts.routes.ts';

export interface AccountsDeps {
  db: Store;
  auth: AuthService;
  passwords: PasswordPolicyService;
  nodes: Pick<NodesService, 'addUsage'>;
}

export interface AccountServices {
  accounts: AccountsService;
  plans: PlansService;
  resellers: ResellersService;
  workloads: WorkloadRegistry;
}

export function buildAccounts(deps: AccountsDeps): AccountServices {
  const repo = new AccountsRepository(deps.db);
  const workloads = new WorkloadRegistry();
  const accounts = new AccountsService(repo, new NodesRepository(deps.db), deps.auth, deps.passwords, workloads);
  deps.nodes.addUsage((node) => accounts.usernamesOnNode(node));
  return { accounts, plans: new PlansService(repo), resellers: new ResellersService(repo, deps.auth), workloads };
}
