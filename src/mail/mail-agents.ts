/** The calls the parent makes to a mail node's agent, over the node's connection. */
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { MAILBOX_ARCHIVE_TYPE } from './mail.agent-module.ts';
import type { MailboxImport } from './mailbox-archive.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';
import type { HeldMailbox, MailStateApplied, MailStateChange, MailboxDigest, MailState } from '../protocol/mail-state.ts';

/** What the parent needs from a mail node's agent; the only way there is NodeConnections. */
export interface MailAgents {
  putState(node: NodeRow, state: MailState): Promise<MailStateApplied>;
  /** Refused with a ConflictError when the node's state is not `change.base`. */
  changeState(node: NodeRow, change: MailStateChange): Promise<MailStateApplied>;
  kick(node: NodeRow, addresses: string[]): Promise<void>;
  heldMailboxes(node: NodeRow, domain: string): Promise<HeldMailbox[]>;
  removeMailboxData(node: NodeRow, address: string): Promise<void>;
  mailboxDigest(node: NodeRow, address: string): Promise<MailboxDigest>;
  /** `full: false` only right after copyMailboxFiles placed the mailbox (see DovecotDriver.syncMailboxTo) */
  syncMailboxTo(node: NodeRow, address: string, target: NodeRow, targetDoveadmPassword: string, options?: { full?: boolean }): Promise<void>;
  /** The mailbox's files streamed from `node` into `target` through the parent, when the target has no copy yet. */
  copyMailboxFiles(node: NodeRow, address: string, target: NodeRow): Promise<MailboxImport>;
  doveadmPassword(node: NodeRow): Promise<string>;
}

export function mailAgentsOver(connections: NodeConnections): MailAgents {
  const agent = (node: NodeRow) => connections.forRow(node);
  const mailboxPath = (address: string): string => `/v1/mail/mailboxes/${encodeURIComponent(address)}`;
  return {
    putState: (node, state) => agent(node).send(AGENT_ROUTES.mailState, { body: state }),
    changeState: (node, change) => agent(node).send(AGENT_ROUTES.mailStateChange, { body: change }),
    async kick(node, addresses) {
      await agent(node).send(AGENT_ROUTES.mailKick, { body: { addresses } });
    },
    async heldMailboxes(node, domain) {
      return (await agent(node).send(AGENT_ROUTES.heldMailboxes, { params: { domain } })).mailboxes;
    },
    async removeMailboxData(node, address) {
      await agent(node).send(AGENT_ROUTES.removeMailbox, { params: { address } });
    },
    mailboxDigest: (node, address) => agent(node).send(AGENT_ROUTES.mailboxDigest, { params: { address } }),
    async syncMailboxTo(node, address, target, targetDoveadmPassword, options = {}) {
      await agent(node).send(AGENT_ROUTES.mailboxSyncTo, { params: { address }, body: { targetAddress: target.host, targetDoveadmPassword, full: options.full ?? true } });
    },
    copyMailboxFiles: (node, address, target) =>
      connections.forRow(node).relay<MailboxImport>(`${mailboxPath(address)}/archive`, connections.forRow(target), `${mailboxPath(address)}/archive`, MAILBOX_ARCHIVE_TYPE, 31 * 60_000),
    async doveadmPassword(node) {
      return (await agent(node).send(AGENT_ROUTES.doveadmPassword)).password;
    },
  };
}
