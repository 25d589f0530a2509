/**
 * How the mail workload plugs into the parent: the mail service joins the account workloads, a
 * joining or returning node gets its mail state as a data-sync step, and the mailbox and
 * forwarder routes.
 */
import type { Store } from '../store/database.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { WorkloadRegistry } from '../accounts/workload.ts';
import type { PasswordPolicyService } from '../passwords/password-policy.service.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import { MailRepository } from './mail.repository.ts';
import { MAIL_SYNC_PRIORITY, MailService, mailAgentsOver } from './mail.service.ts';

export { registerMailRoutes } from './mail.routes.ts';

export interface MailDeps {
  db: Store;
  accounts: AccountsService;
  passwords: PasswordPolicyService;
  workloads: WorkloadRegistry;
  nodes: Pick<NodesService, 'addDataSyncStep'>;
  connections: NodeConnections;
}

export function buildMail(deps: MailDeps): MailService {
  const mail = new MailService(new MailRepository(deps.db), deps.accounts, new NodesRepository(deps.db), deps.passwords, mailAgentsOver(deps.connections));
  deps.workloads.register(mail);
  deps.nodes.addDataSyncStep({ name: 'mail', priority: MAIL_SYNC_PRIORITY, sync: (node) => mail.syncNode(node) });
  return mail;
}
