/**
 * Wires the mail workload into the parent: the account workload hooks, the data-sync step that
 * brings a joining or returning node its mail state, and `ctx.mail` for distribution.
 */
import type { ParentContext } from '../parent/parent-context.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import { MailRepository } from './mail.repository.ts';
import { MAIL_SYNC_PRIORITY, MailService, mailAgentsOver } from './mail.service.ts';

declare module '../parent/parent-context.ts' {
  interface ParentContext {
    /** `ctx.mail.pushNode(node)`, `pushAccountNodes(account)`, `mailboxesOf(account)`, `addStateContributor(fn)` */
    mail?: MailService;
  }
}

export function attachMail(ctx: ParentContext): void {
  const mail = new MailService(new MailRepository(ctx.db), ctx.accounts, new NodesRepository(ctx.db), ctx.passwords, mailAgentsOver(ctx.connections));
  ctx.workloads.register(mail);
  ctx.nodes.addDataSyncStep({ name: 'mail', priority: MAIL_SYNC_PRIORITY, sync: (node) => mail.syncNode(node) });
  ctx.mail = mail;
}
