/**
 * What each mail node should hold, and the push that puts it there. A node's whole MailState is
 * derived from the store (the accounts whose 'mail' placement is the node, their mailboxes and
 * forwarders) at each push, so a node that missed a change is repaired by the next push. What goes
 * over the wire is what differs from the state the node last acknowledged, as a change against
 * that state's digest (protocol/keyed-state.ts); the whole state goes when that state is not known
 * (the parent started, a push failed, the node returns) or the node refuses the change (its agent
 * restarted).
 * Changes that reach one node while a push to it is under way go out together as the next push
 * (BatchByKey): one check and one reload of Dovecot and Postfix for all of them.
 * The parent's own node also routes the domains whose mail lives on a child: Postfix relays them
 * there and Dovecot proxies their logins there. Other modules (distribution) adjust a node's
 * state before it is pushed through state contributors, and follow pushes through listeners.
 */
import { ValidationError } from '../core/errors.ts';
import { checkIpv4 } from '../core/grammar.ts';
import { BatchByKey } from '../core/batch-by-key.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { NodeRow, NodesRepository } from '../nodes/nodes.repository.ts';
import { takesPushes } from '../nodes/node.model.ts';
import type { MailAgents } from './mail-agents.ts';
import type { MailRepository, MailboxRow } from './mail.repository.ts';
import { MAIL_STATE_SHAPE, type MailApplyResult, type MailDomain, type MailState, type MailStateApplied } from '../protocol/mail-state.ts';
import { StatePushes } from '../protocol/keyed-state.ts';

/**
 * Adds or changes entries of a node's state just before it is pushed (e.g. a child keeping an
 * account that routes back to the parent during a grace period). It sees the state derived from
 * the store and may mutate it; the agent validates the result whole.
 */
export type MailStateContributor = (node: NodeRow, state: MailState) => Promise<void>;

/** How one account differs from the store while a change is under way (the store is written after every node accepted). */
export type AccountOverride = { accountId: number; suspended: boolean } | { accountId: number; removed: true };

/** Where the mail state comes in a returning node's data sync (the mail service's step). */
export const MAIL_SYNC_PRIORITY = 40;


function ipv4Of(node: NodeRow): string {
  if (checkIpv4(node.host) !== null) {
    throw new ValidationError({ message: `node '${node.alias}' is linked by the host name '${node.host}'; mail routing needs its IPv4 address, so link it by address`, details: { node: node.alias } });
  }
  return node.host;
}

function localNodeOf(nodes: readonly NodeRow[]): NodeRow | undefined {
  return nodes.find((n) => n.is_local === 1);
}

export class MailStatePusher {
  private readonly contributors: MailStateContributor[] = [];
  private readonly pushListeners: ((node: NodeRow) => Promise<void>)[] = [];
  /** Pushes to one node never overtake each other; the changes waiting for one go out as one. */
  private readonly perNode = new BatchByKey<{ node: NodeRow; override?: AccountOverride }, MailApplyResult>((_key, requests) => this.pushBatch(requests));
  /** What each node acknowledged: a push sends what differs from it (keyed-state.ts). */
  private readonly pushes = new StatePushes<MailState, MailStateApplied>(MAIL_STATE_SHAPE);
  /**
   * The listeners of one node, run once for every push accepted before they started: they read
   * what the node holds now (webmail serves the domains of its applied state), so one run follows
   * any number of pushes. They run beside the node's next push instead of holding it back.
   */
  private readonly followers = new BatchByKey<NodeRow, void>(async (_key, nodes) => {
    for (const listener of this.pushListeners) await listener(nodes.at(-1)!);
  });

  constructor(
    private readonly repo: Pick<MailRepository, 'mailAccounts' | 'mailboxes' | 'forwarders' | 'pipeForwarders'>,
    private readonly accounts: Pick<AccountsService, 'nodeOf'>,
    private readonly nodes: Pick<NodesRepository, 'list'>,
    private readonly agents: Pick<MailAgents, 'putState' | 'changeState'>,
  ) {}

  addStateContributor(contributor: MailStateContributor): void {
    this.contributors.push(contributor);
  }

  /** Called after a node accepted a new mail state (webmail follows where each domain's mail is). */
  onNodePushed(listener: (node: NodeRow) => Promise<void>): void {
    this.pushListeners.push(listener);
  }

  /** The account's mailboxes as the store holds them (the entries its node state carries). */
  mailboxesOf(account: AccountRecord): Promise<MailboxRow[]> {
    return this.repo.mailboxes([account.id]);
  }

  /**
   * The whole state the node should hold. A child holds its accounts' domains with mailboxes and
   * forwarders and trusts the parent's address (proxied logins keep the client's IP); the
   * parent's own node also routes every domain whose mail is on a child: relay and proxy there.
   */
  async nodeState(node: NodeRow, overrides: readonly AccountOverride[] = []): Promise<MailState> {
    const nodes = await this.nodes.list();
    const localNode = localNodeOf(nodes);
    const isLocal = node.is_local === 1;
    let accounts = await this.repo.mailAccounts();
    for (const override of overrides) {
      accounts = 'removed' in override ? accounts.filter((a) => a.accountId !== override.accountId) : accounts.map((a) => (a.accountId === override.accountId ? { ...a, suspended: override.suspended } : a));
    }
    const held = accounts.filter((a) => a.nodeId === node.id);
    const heldIds = held.map((a) => a.accountId);
    const domains: MailDomain[] = held.map((a) => ({ domain: a.domain, account: a.username, suspended: a.suspended }));
    if (isLocal) {
      const byId = new Map(nodes.map((n) => [n.id, n]));
      for (const account of accounts.filter((a) => a.nodeId !== node.id)) {
        const child = byId.get(account.nodeId);
        if (!child) continue;
        const childAddress = ipv4Of(child);
        domains.push({ domain: account.domain, account: account.username, suspended: account.suspended, relayTo: childAddress, proxyTo: childAddress });
      }
    }
    const forwarders = new Map<string, string[]>();
    for (const row of await this.repo.forwarders(heldIds)) forwarders.set(row.source, [...(forwarders.get(row.source) ?? []), row.destination]);
    const state: MailState = {
      domains: domains.sort((a, b) => a.domain.localeCompare(b.domain)),
      mailboxes: (await this.repo.mailboxes(heldIds)).map((m) => ({ address: m.address, passwordHash: m.passwordHash, quotaMb: m.quotaMb, suspended: false })),
      forwarders: [...forwarders].map(([source, destinations]) => ({ source, destinations })),
      pipeForwarders: (await this.repo.pipeForwarders(heldIds)).map((p) => ({ source: p.source, command: p.command })),
      trustedNetworks: !isLocal && localNode ? [ipv4Of(localNode)] : [],
    };
    for (const contribute of this.contributors) await contribute(node, state);
    return state;
  }

  /**
   * Pushes the node's mail state, in one batch with the other changes waiting for the same
   * node. Resolves once the node applied the batch that carries this change (checked and reloaded)
   * and the listeners followed it (a run of them that began after that batch was applied); a
   * refused batch rejects every change in it, and so does a failed run of the listeners.
   */
  async pushNode(node: NodeRow, override?: AccountOverride): Promise<MailApplyResult> {
    if (!takesPushes(node.status)) return { dovecotChanged: false, postfixChanged: false };
    const result = await this.perNode.run(String(node.id), override ? { node, override } : { node }, override ? String(override.accountId) : undefined);
    if (this.pushListeners.length > 0) await this.followers.run(String(node.id), node);
    return result;
  }

  /** The latest node row of the batch is the one pushed to; every override applies, in arrival order. */
  private async pushBatch(requests: readonly { node: NodeRow; override?: AccountOverride }[]): Promise<MailApplyResult> {
    const node = requests.at(-1)!.node;
    const overrides = requests.flatMap((request) => (request.override ? [request.override] : []));
    const state = await this.nodeState(node, overrides);
    const answer = await this.pushes.push(String(node.id), state, { whole: (whole) => this.agents.putState(node, whole), change: (change) => this.agents.changeState(node, change) });
    // A node that holds the state already changes nothing.
    return answer ? { dovecotChanged: answer.dovecotChanged, postfixChanged: answer.postfixChanged } : { dovecotChanged: false, postfixChanged: false };
  }

  /** Pushes a mail node and, when it is a child, the parent's own node that routes its domains to it. */
  async pushRouted(mailNode: NodeRow, override?: AccountOverride): Promise<void> {
    await this.pushNode(mailNode, override);
    if (mailNode.is_local === 1) return;
    const localNode = localNodeOf(await this.nodes.list());
    if (localNode && localNode.roles.includes('mail')) await this.pushNode(localNode, override);
  }

  /** Pushes every node the account's mail touches; returns its mail node. */
  async pushAccountNodes(account: AccountRecord, override?: AccountOverride): Promise<NodeRow> {
    const mailNode = await this.accounts.nodeOf(account, 'mail');
    await this.pushRouted(mailNode, override);
    return mailNode;
  }

  /** The data-sync step: a node that joins or returns gets the mail state it missed. */
  async syncNode(node: NodeRow): Promise<void> {
    if (!node.roles.includes('mail')) return;
    // It may have lost or missed anything while away: it gets its whole state.
    this.pushes.forget(String(node.id));
    await this.pushNode(node);
  }
}
