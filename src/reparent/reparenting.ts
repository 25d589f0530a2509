/**
 * What the re-parent job works with on the old parent: its node and accounts, the new parent's
 * client (with the token kept in the store beside the node, never in the job's data), and how
 * this parent forgets an account whose workloads now live with the new parent.
 */
import { ConflictError, NodeUnavailableError, NotFoundError } from '../core/errors.ts';
import type { AccountRecord, Workload } from '../accounts/account.model.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { NewParent, NodeHandover } from '../nodes/node-handover.ts';
import type { TransferBundle } from '../transfers/transfer.schemas.ts';
import type { DatabaseMoves } from '../transfers/database-moves.ts';
import type { MailState } from '../protocol/mail-state.ts';
import { NewParentClient } from './new-parent.client.ts';

/** Node states a child can be moved from: it serves, so its accounts' mail is where the store says. */
export const SERVING: readonly string[] = ['ready', 'degraded'];

/**
 * How the child moves: `handover` keeps the mail where it is (the child changes parent in one
 * step); `dedistribution` is the reference's procedure (mail back, unlink, transfer, link,
 * mail out again).
 */
export type ReparentRoute = 'handover' | 'dedistribution';

/** What every refusal check found when none refused. */
export interface ReparentPlan {
  newParent: NewParent;
  /** the accounts that move with the node */
  accounts: string[];
}

export interface ReparentData extends Record<string, unknown> {
  node: string;
  nodeId: number;
  targetUrl: string;
  newParent?: NewParent;
  /** the accounts that move with the node, found by plan */
  accounts?: string[];
  imported?: string[];
  /** accounts whose databases are at the new parent, verified, and whose import is finished there */
  databasesMoved?: string[];
  /** databases restored at the new parent so far (their names carry the account's prefix) */
  restoredDatabases?: string[];
  forgotten?: string[];
  /** site folders left on this parent's own node (web files are not moved; see README) */
  leftSites?: string[];
}

/** A domain this parent still relays to a child it handed over, until `until` (ms). */
export interface LingeringRelay {
  domain: string;
  account: string;
  relayTo: string;
  until: number;
}

/** How long the old parent keeps relaying a moved account's mail to the child (as distribution's grace copies). */
export const RELAY_GRACE_MS = 7 * 24 * 3600_000;

export interface ReparentCredentials {
  get(nodeId: number): Promise<{ url: string; token: string } | undefined>;
  set(nodeId: number, value: { url: string; token: string }): Promise<void>;
  remove(nodeId: number): Promise<void>;
}

export interface ReparentDeps {
  parentId: Promise<string>;
  parentName: string;
  handover: Pick<NodeHandover, 'issue' | 'markHandedOver'>;
  credentials: ReparentCredentials;
  nodeById(id: number): Promise<NodeRow | undefined>;
  localNode(): Promise<NodeRow | undefined>;
  /** the accounts (and mail copies, as "name (mail copy)") that use the node */
  usersOf(node: NodeRow): Promise<string[]>;
  /** the account's job under way, if any */
  busy(username: string): Promise<{ id: number; type: string } | undefined>;
  /** whether this parent installed the node over SSH (its agent then accepts a plain link from this parent only) */
  installedBySsh(node: NodeRow): Promise<boolean>;
  /** the account transfer's move of an account's MariaDB databases to another parent */
  databases: DatabaseMoves;
  accountByName(username: string): Promise<AccountRecord | undefined>;
  bundleOf(account: AccountRecord): Promise<TransferBundle>;
  placements(accountId: number): Promise<{ workload: Workload; nodeId: number }[]>;
  removePlacement(accountId: number, workload: Workload): Promise<void>;
  removeAccountMail(accountId: number): Promise<void>;
  /** ends the account here as `account terminate` does, for what is still placed on this parent's nodes */
  terminate(username: string): Promise<void>;
  /** pushes the node's mail and web state (after accounts left it) */
  pushNode(node: NodeRow): Promise<void>;
  removeNode(node: NodeRow): Promise<void>;
  relays: { list(): Promise<LingeringRelay[]>; save(relays: LingeringRelay[]): Promise<void> };
}

export class Reparenting {
  constructor(readonly deps: ReparentDeps) {}

  async node(data: ReparentData): Promise<NodeRow> {
    const row = await this.deps.nodeById(data.nodeId);
    if (!row) throw new NotFoundError('node', data.node);
    return row;
  }

  async target(data: ReparentData): Promise<NewParentClient> {
    const stored = await this.deps.credentials.get(data.nodeId);
    if (!stored) throw new ConflictError(`the re-parenting of '${data.node}' lost the new parent's token; start it again with \`node reparent\``);
    return new NewParentClient(stored.url, stored.token);
  }

  /**
   * Every refusal of a re-parent, asked of both parents before anything changes: the route asks
   * it before queueing the job, and the job's plan asks it again (time passed, or a retry).
   * Cheap refusals of this parent come before the calls to the new one.
   */
  async preflight(node: NodeRow, target: NewParentClient, route: ReparentRoute): Promise<ReparentPlan> {
    if (node.is_local === 1) throw new ConflictError("the parent's own node cannot move to another parent");
    if (!SERVING.includes(node.status)) throw new ConflictError(`node '${node.alias}' is ${node.status}; only a node that serves can move to another parent`);
    if (route === 'dedistribution' && (await this.deps.installedBySsh(node))) {
      // Refused now rather than after the unlink, when the new parent's link would be refused.
      throw new ConflictError(`node '${node.alias}' was installed over SSH by this parent and accepts a link only from it; move it without --via-dedistribution (handed over)`);
    }
    const users = await this.deps.usersOf(node);
    // A job under way first: it is what the admin waits for, and it may be what made a copy.
    for (const username of new Set(users.map((u) => u.replace(/ \(mail copy\)$/, '')))) {
      const job = await this.deps.busy(username);
      if (job) throw new ConflictError(`account '${username}' on node '${node.alias}' has job ${job.id} (${job.type}) under way; let it finish before moving its node`, { account: username, job: job.id });
    }
    const copies = users.filter((u) => u.endsWith(' (mail copy)'));
    if (copies.length > 0) throw new ConflictError(`node '${node.alias}' keeps mail copies (${copies.join(', ')}); let their grace periods end or clean them with \`node cleanup\` first`, { accounts: copies });
    const accounts: { account: AccountRecord; databases: boolean }[] = [];
    for (const username of users) {
      const account = await this.account(username);
      const databases = await this.deps.databases.sourceOf(account);
      // They are copied from their node by this parent after the child left it (the handover
      // route) or after the unlink (the transfers of --via-dedistribution): by then this parent
      // no longer reaches a database on the child itself.
      if (databases && databases.node.id === node.id) throw new ConflictError(`account '${username}' keeps its database(s) (${databases.names.join(', ')}) on node '${node.alias}' itself, which this parent could no longer reach to copy them once the node moved; node '${node.alias}' stays here`, { account: username, databases: databases.names });
      if (route === 'dedistribution') {
        const other = (await this.deps.placements(account.id)).filter((p) => p.nodeId === node.id && p.workload !== 'mail');
        if (other.length > 0) throw new ConflictError(`account '${username}' has its ${other.map((p) => p.workload).join(' and ')} on node '${node.alias}'; dedistribution moves only mail back, so use the re-parent without --via-dedistribution`, { account: username });
      }
      accounts.push({ account, databases: databases !== undefined });
    }
    const newParent = await target.identity();
    if (newParent.parentId === (await this.deps.parentId)) throw new ConflictError(`${target.url} is this parent itself`);
    if (await target.nodeView(node.alias)) throw new ConflictError(`the new parent ${newParent.name} already has a node called '${node.alias}'; unlink or rename it there first`, { node: node.alias });
    // Refuses as the import would (username, domain, a mailbox address taken there, no database node there for databases).
    for (const { account, databases } of accounts) await target.check(account.username, account.domain, undefined, databases);
    return { newParent, accounts: users };
  }

  async account(username: string): Promise<AccountRecord> {
    const account = await this.deps.accountByName(username);
    if (!account) throw new NotFoundError('account', username);
    return account;
  }

  /**
   * Copies the account's databases to the new parent (its import there created them empty, with
   * their users) and checks every table there against this copy. The users here are locked first,
   * so nothing writes after the dump; `copied` checkpoints each database. Returns what it did, for
   * the job's progress; undefined when the account has no databases.
   */
  async moveDatabases(account: AccountRecord, target: NewParentClient, restored: readonly string[], copied: (restored: string[], name: string) => Promise<void>, signal: AbortSignal): Promise<{ node: string; locked: number; checked: string[] } | undefined> {
    const source = await this.deps.databases.sourceOf(account);
    if (!source) return undefined;
    const locked = await this.deps.databases.lockUsers(source.node, account.username, true);
    await this.deps.databases.copyAll(source, target, account.username, restored, copied, signal);
    return { node: source.node.alias, locked: locked.length, checked: await this.verifyDatabases(account, target) };
  }

  /** Every database of the account has the same tables, rows and checksums at the new parent (a conflict otherwise: this copy stays). */
  async verifyDatabases(account: AccountRecord, target: NewParentClient): Promise<string[]> {
    const source = await this.deps.databases.sourceOf(account);
    const checked: string[] = [];
    for (const name of source?.names ?? []) {
      const { tables, rows } = await this.deps.databases.verify(source!.node, target, account.username, name);
      checked.push(`${name} (${tables} table(s), ${rows} row(s))`);
    }
    return checked;
  }

  /** Before this parent lets the account go: the new parent has it, its import finished, and its databases there match these. */
  async verifyMoved(account: AccountRecord, target: NewParentClient): Promise<void> {
    if (!(await target.hasAccount(account.username)) || (await target.underWay(account.username))) {
      throw new ConflictError(`account '${account.username}' is not (or not yet fully) at the new parent ${target.url}; this parent keeps it`, { account: account.username });
    }
    await this.verifyDatabases(account, target);
  }

  /**
   * Forgets an account that now lives at the new parent. What it had on the handed-over node is
   * only forgotten (that node is not ours to change any more: its mail stays there); what it had
   * on this parent's own nodes is removed as `account terminate` would, except the site's files,
   * which nothing has moved, so they stay where they are; the domain's mail is still relayed to
   * the child for a grace period. Returns the sites left that way.
   */
  async forgetAccount(account: AccountRecord, moved: NodeRow): Promise<string[]> {
    const movedNodeId = moved.id;
    const left: string[] = [];
    // Mail a sender (or this parent's own queue) still brings here keeps going to the child.
    const now = Date.now();
    const relays = (await this.deps.relays.list()).filter((r) => r.until > now && r.domain !== account.domain);
    await this.deps.relays.save([...relays, { domain: account.domain, account: account.username, relayTo: moved.host, until: now + RELAY_GRACE_MS }]);
    for (const placement of await this.deps.placements(account.id)) {
      if (placement.nodeId === movedNodeId) {
        await this.deps.removePlacement(account.id, placement.workload);
        if (placement.workload === 'mail') await this.deps.removeAccountMail(account.id);
      } else if (placement.workload === 'web') {
        await this.deps.removePlacement(account.id, 'web');
        left.push(account.username);
      }
    }
    await this.deps.terminate(account.username);
    return left;
  }

  /** Adds the lingering relays to this parent's own node's mail state (never over a domain it serves again). */
  async addRelays(node: NodeRow, state: MailState): Promise<void> {
    if (node.is_local !== 1) return;
    const now = Date.now();
    for (const relay of await this.deps.relays.list()) {
      if (relay.until <= now || state.domains.some((d) => d.domain === relay.domain)) continue;
      state.domains.push({ domain: relay.domain, account: relay.account, suspended: false, relayTo: relay.relayTo });
    }
  }

  /** This parent's own node stops serving the moved accounts (it only relays them); the handed-over node and its token go. */
  async afterForget(movedNodeId: number): Promise<void> {
    const local = await this.deps.localNode();
    if (local) {
      try {
        await this.deps.pushNode(local);
      } catch (error) {
        throw new NodeUnavailableError({ message: `this parent's own node did not take its new state: ${(error as Error).message}`, details: { node: local.alias } });
      }
    }
    const moved = await this.deps.nodeById(movedNodeId);
    if (moved) await this.deps.removeNode(moved);
    await this.deps.credentials.remove(movedNodeId);
  }
}
