/**
 * The accounts domain as the parent holds it: accounts, plans, resellers, the registry the
 * workload services join, and the password policy every service checks passwords against.
 * Built before the domain services attach, so they can register with `ctx.workloads` and call
 * `ctx.passwords.assertPasswordStrength` whatever their order.
 */
import type { Store } from '../store/database.ts';
import type { AuthService } from '../auth/auth.service.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import { PasswordPolicyRepository } from '../passwords/password-policy.repository.ts';
import { PasswordPolicyService } from '../passwords/password-policy.service.ts';
import { AccountsRepository } from './accounts.repository.ts';
import { AccountsService } from './accounts.service.ts';
import { PlansService } from './plans.service.ts';
import { ResellersService } from './resellers.service.ts';
import { WorkloadRegistry } from './workload.ts';

export interface AccountServices {
  accounts: AccountsService;
  plans: PlansService;
  resellers: ResellersService;
  workloads: WorkloadRegistry;
  passwords: PasswordPolicyService;
}

export function createAccountServices(db: Store, nodes: NodesService, auth: AuthService): AccountServices {
  const repo = new AccountsRepository(db);
  const passwords = new PasswordPolicyService(new PasswordPolicyRepository(db), nodes);
  const workloads = new WorkloadRegistry();
  const accounts = new AccountsService(repo, new NodesRepository(db), auth, passwords, workloads);
  nodes.addUsage((node) => accounts.usernamesOnNode(node));
  return { accounts, plans: new PlansService(repo), resellers: new ResellersService(repo, auth), workloads, passwords };
}
