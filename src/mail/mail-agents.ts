/** The calls the parent makes to a mail node's agent, over the node's connection. */
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { MAILBOX_ARCHIVE_TYPE, type HeldMailbox } from './mail.agent-module.ts';
import type { MailboxImport } from './mailbox-archive.ts';
import type { MailApplyResult, MailboxDigest } from './mail.driver.ts';
import type { MailState } from '../protocol/mail-state.ts';

/** What the parent needs from a mail node's agent; the only way there is NodeConnections. */
export interface MailAgents {
  putState(node: NodeRow, state: MailState): Promise<MailApplyResult>;
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
  const mailboxPath = (address: string): string => `/v1/mail/mailboxes/${encodeURIComponent(address)}`;
  return {
    putState: (node, state) => connections.forRow(node).call<MailApplyResult>('PUT', '/v1/mail/state', state),
    async kick(node, addresses) {
      await connections.forRow(node).call('POST', '/v1/mail/kick', { addresses });
    },
    async heldMailboxes(node, domain) {
      return (await connections.forRow(node).call<{ mailboxes: HeldMailbox[] }>('GET', `/v1/mail/mailboxes?domain=${encodeURIComponent(domain)}`)).mailboxes;
    },
    async removeMailboxData(node, address) {
      await connections.forRow(node).call('DELETE', mailboxPath(address));
    },
    mailboxDigest: (node, address) => connections.forRow(node).call<MailboxDigest>('GET', `${mailboxPath(address)}/digest`),
    async syncMailboxTo(node, address, target, targetDoveadmPassword, options = {}) {
      // A large mailbox takes long; the agent's own doveadm timeout (30 min) is the real bound.
      await connections.forRow(node).call('POST', `${mailboxPath(address)}/sync-to`, { targetAddress: target.host, targetDoveadmPassword, full: options.full ?? true }, 31 * 60_000);
    },
    copyMailboxFiles: (node, address, target) =>
      connections.forRow(node).relay<MailboxImport>(`${mailboxPath(address)}/archive`, connections.forRow(target), `${mailboxPath(address)}/archive`, MAILBOX_ARCHIVE_TYPE, 31 * 60_000),
    async doveadmPassword(node) {
      return (await connections.forRow(node).call<{ password: string }>('GET', '/v1/mail/doveadm-password')).password;
    },
  };
}
