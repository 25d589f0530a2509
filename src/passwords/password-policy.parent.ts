/** How the password policy plugs into the parent: the service every other service checks passwords against, and its routes. */
import type { Store } from '../store/database.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import { PasswordPolicyRepository } from './password-policy.repository.ts';
import { PasswordPolicyService } from './password-policy.service.ts';

export { registerPasswordPolicyRoutes } from './password-policy.routes.ts';

export function buildPasswordPolicy(deps: { db: Store; nodes: NodesService }): PasswordPolicyService {
  return new PasswordPolicyService(new PasswordPolicyRepository(deps.db), deps.nodes);
}
