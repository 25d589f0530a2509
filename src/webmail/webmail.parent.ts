/**
 * Webmail at the parent. Every mail node serves webmail.<domain> for the domains it holds (the
 * agent's webmail module); for a domain whose mail is on a child, the parent's own nginx forwards
 * webmail.<domain> to that child, so a browser with a cached DNS answer (the parent's address)
 * still reaches the webmail that holds the mailboxes.
 */
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import type { MailState } from '../protocol/mail-state.ts';
import type { MailStatePusher } from '../mail/mail-state-pusher.ts';
import type { WebService } from '../web/web.service.ts';
import type { WebProxy } from '../protocol/web-state.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';

/** The webmail host names a node forwards: those of the domains its mail state proxies to a child. */
export function webmailProxies(state: Pick<MailState, 'domains'>): WebProxy[] {
  return state.domains.flatMap((domain) => (domain.proxyTo === undefined ? [] : [{ domain: `webmail.${domain.domain}`, upstream: domain.proxyTo }]));
}

const servesWeb = (node: NodeRow): boolean => node.roles.includes('web');

/** What the parent asks of a mail node's webmail module. */
export interface WebmailAgents {
  /** Makes the node's Roundcube serve exactly the mail domains of the state it holds now. */
  refreshServers(node: NodeRow): Promise<void>;
}

export function webmailAgentsOver(connections: NodeConnections): WebmailAgents {
  return {
    async refreshServers(node) {
      await connections.forRow(node).send(AGENT_ROUTES.webmailRefresh);
    },
  };
}

export interface WebmailDeps {
  mail: Pick<MailStatePusher, 'nodeState' | 'onNodePushed'>;
  web: Pick<WebService, 'addProxyProvider' | 'ensureProxies'>;
  agents: WebmailAgents;
}

/** Webmail has no service of its own at the parent: building it connects mail to web. */
export function buildWebmail({ mail, web, agents }: WebmailDeps): void {
  // Only the parent's own node routes domains to children; a child's mail state proxies nothing.
  web.addProxyProvider('webmail', async (node) => (node.is_local === 1 && servesWeb(node) ? webmailProxies(await mail.nodeState(node)) : []));
  // Webmail follows mail from the parent only, the one side that can keep both halves: it sees
  // every push, and the forward to a child is part of the parent's web state, which no agent can
  // compute. After a node accepted a mail state, its own Roundcube serves exactly the domains it
  // holds now, then the parent's nginx forwards (or stops forwarding) the webmail host of each
  // domain routed to a child. The agent's mail module does not know that webmail exists.
  mail.onNodePushed(async (node) => {
    await agents.refreshServers(node);
    if (node.is_local === 1 && servesWeb(node)) await web.ensureProxies(node);
  });
}
