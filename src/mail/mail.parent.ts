/**
 * How the mail workload plugs into the parent: the node-state pusher (a joining or returning node
 * gets its mail state as a data-sync step; distribution and webmail extend and follow it), the
 * mail service that joins the account workloads, and the mailbox and forwarder routes.
 */
import type { Store } from '../store/database.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { WorkloadRegistry } from '../accounts/workload.ts';
import type { PasswordPolicyService } from '../passwords/password-policy.service.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import { MailRepository } from './mail.repository.ts';
import { mailAgentsOver } from './mail-agents.ts';
import { MAIL_SYNC_PRIORITY, MailStatePusher } from './mail-state-pusher.ts';
import { MailService } from './mail.service.ts';

export { registerMailRoutes } from './mail.routes.ts';

export interface MailDeps {
  db: Store;
  accounts: AccountsService;
  passwords: PasswordPolicyService;
  workloads: WorkloadRegistry;
  nodes: Pick<NodesService, 'addDataSyncStep'>;
  connections: NodeConnections;
}

export interface BuiltMail {
  mail: MailService;
  /** what each mail node should hold, and the push; `addStateContributor`, `onNodePushed`, `pushNode` */
  mailStates: MailStatePusher;
}

export function buildMail(deps: MailDeps): BuiltMail {
  const repo = new MailRepository(deps.db);
  const agents = mailAgentsOver(deps.connections);
  const mailStates = new MailStatePusher(repo, deps.accounts, new NodesRepository(deps.db), agents);
  const mail = new MailService(repo, deps.accounts, mailStates, deps.passwords, agents);
  deps.workloads.register(mail);
  deps.nodes.addDataSyncStep({ name: 'mail', priority: MAIL_SYNC_PRIORITY, sync: (node) => mailStates.syncNode(node) });
  return { mail, mailStates };
}
