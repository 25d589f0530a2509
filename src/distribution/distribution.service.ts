/**
 * Distribution of accounts' mail to child nodes: the admin's requests (move, move back, clean a
 * child's leftover copy, forced dedistribution, what a child holds) checked against the
 * restrictions and turned into jobs, plus the maintenance a distributed cluster needs (grace
 * periods that end, revocations waiting for a child, digests the parent keeps of children).
 */
import { ConflictError, FleetError, ForbiddenError, NodeUnavailableError, NotFoundError, ValidationError } from '../core/errors.ts';
import type { Principal } from '../auth/principal.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { JobEngine, JobView } from '../jobs/index.ts';
import { ACTIVE_JOB_STATES } from '../jobs/job.model.ts';
import type { DistributionRepository, MailCopyPhase } from './distribution.repository.ts';
import { checkDedistribute, checkDistribute, missingGuids } from './distribution-rules.ts';
import { CHILD_CLEANUP_JOB, DEDISTRIBUTE_JOB, DISTRIBUTE_JOB, nodeFacts, type MailMover, type MoveMailData } from './move-mail.job.ts';

/** Jobs a forced dedistribution may give up: they only move or clean the account's mail. */
const MAIL_MOVE_JOBS: readonly string[] = [DISTRIBUTE_JOB, DEDISTRIBUTE_JOB, CHILD_CLEANUP_JOB];

export const DEFAULT_GRACE_SECONDS = 7 * 86_400;
const LOCAL = 'local';

export interface ChangeMailNodeInput {
  mailNode: string;
  dropPipeForwarders?: boolean;
  /** dedistribution only: how long the child keeps routing back (default 7 days) */
  graceSeconds?: number;
}

export interface DistributedAccountView {
  username: string;
  domain: string;
  owner: string;
  /** 'distributed': the node serves its mail; otherwise the phase of the copy the node keeps */
  state: 'distributed' | MailCopyPhase;
  graceUntil: string | null;
}

export interface NodeAccountsView {
  node: string;
  accounts: DistributedAccountView[];
  /** accounts whose credentials on the node were revoked by a forced dedistribution */
  revocations: { username: string; recordedAt: string; applied: boolean }[];
}

export interface LostMailReport {
  address: string;
  /** when the parent last saw the child's copy, null when it never did */
  lastKnownAt: string | null;
  lastKnownMessages: number | null;
  messagesOnParent: number;
  /** GUIDs the child held at the last digest that the parent does not */
  lostGuids: string[];
  note: string;
}

export interface ForcedDedistributionReport {
  node: string;
  /** moves of these accounts that were given up, not undone */
  abandonedJobs: number[];
  accounts: { username: string; revoked: 'applied' | 'recorded, applied when the node answers'; mailboxes: LostMailReport[] }[];
}

export class DistributionService {
  constructor(
    private readonly repo: DistributionRepository,
    private readonly mover: MailMover,
    private readonly jobs: JobEngine,
    private readonly nodes: { byAlias(alias: string): Promise<NodeRow | undefined>; byId(id: number): Promise<NodeRow | undefined>; list(): Promise<NodeRow[]> },
  ) {}

  private requireAdmin(principal: Principal, what: string): void {
    // cPanel: distribution is an administrator's decision; resellers and users cannot move mail.
    if (principal.role !== 'admin') throw new ForbiddenError(`${what} is for the admin only; you are ${principal.role} '${principal.username}'`);
  }

  private async requireNode(alias: string): Promise<NodeRow> {
    const row = await this.nodes.byAlias(alias);
    if (!row) throw new NotFoundError('node', alias);
    return row;
  }

  private async localNode(): Promise<NodeRow | undefined> {
    return (await this.nodes.list()).find((n) => n.is_local === 1);
  }

  private async requireAccount(username: string): Promise<AccountRecord> {
    return this.mover.account({ account: username });
  }

  /** `account modify USER --mail-node ALIAS|local`: queues the move and returns its job. */
  async changeMailNode(principal: Principal, username: string, input: ChangeMailNodeInput): Promise<JobView> {
    this.requireAdmin(principal, "choosing an account's mail node");
    const account = await this.requireAccount(username);
    const mailNodeId = await this.repo.mailNodeId(account.id);
    if (mailNodeId === undefined) throw new NodeUnavailableError({ message: `account '${username}' has no mail placement` });
    const source = await this.mover.node(mailNodeId);
    const facts = { username, ipv6: account.ipv6, mailChild: await this.mover.mailChildOf(account.id) };
    const data: MoveMailData = { account: username, accountId: account.id, sourceNodeId: source.id, targetNodeId: 0, direction: 'distribute' };
    if (input.mailNode === LOCAL) {
      if (input.dropPipeForwarders) throw new ValidationError('dropPipeForwarders', 'only applies when distributing to a child');
      const local = await this.localNode();
      checkDedistribute(facts, local && nodeFacts(local));
      const graceSeconds = input.graceSeconds ?? DEFAULT_GRACE_SECONDS;
      if (!Number.isInteger(graceSeconds) || graceSeconds < 0) throw new ValidationError('graceSeconds', 'must be a whole number of seconds, 0 or more');
      Object.assign(data, { targetNodeId: local!.id, direction: 'dedistribute', graceMs: graceSeconds * 1000 });
    } else {
      if (input.graceSeconds !== undefined) throw new ValidationError('graceSeconds', 'only applies when moving mail back to the parent (--mail-node local)');
      const target = await this.nodes.byAlias(input.mailNode);
      if (!target) throw new ValidationError('mailNode', `no node is named '${input.mailNode}'`);
      checkDistribute(facts, nodeFacts(target), await this.mover.deps.pipeForwarders.list(account.id), input.dropPipeForwarders === true);
      Object.assign(data, { targetNodeId: target.id, dropPipeForwarders: input.dropPipeForwarders === true });
    }
    return this.jobs.enqueue(
      { type: data.direction === 'distribute' ? DISTRIBUTE_JOB : DEDISTRIBUTE_JOB, key: `account:${username}`, data, ifBusy: 'refuse', createdBy: principal.username },
    );
  }

  /** `node accounts ALIAS`: accounts whose mail the node serves or of which it keeps a copy. */
  async accountsOnNode(principal: Principal, alias: string): Promise<NodeAccountsView> {
    this.requireAdmin(principal, "listing a node's distributed accounts");
    const node = await this.requireNode(alias);
    const copies = new Map((await this.repo.copiesOnNode(node.id)).map((c) => [c.accountId, c]));
    const accounts: DistributedAccountView[] = [];
    for (const row of await this.repo.accountsOnNode(node.id)) {
      const copy = copies.get(row.accountId);
      const served = (await this.repo.mailNodeId(row.accountId)) === node.id;
      accounts.push({
        username: row.username,
        domain: row.domain,
        owner: row.owner,
        state: served ? 'distributed' : copy!.phase,
        graceUntil: !served && copy?.graceUntil ? new Date(copy.graceUntil).toISOString() : null,
      });
    }
    const revocations = (await this.repo.revocationsOnNode(node.id)).map((r) => ({ username: r.username, recordedAt: new Date(r.recordedAt).toISOString(), applied: r.appliedAt !== null }));
    return { node: alias, accounts: node.is_local === 1 ? accounts.filter((a) => a.state !== 'distributed') : accounts, revocations };
  }

  /** `node cleanup ALIAS USER`: ends a grace period now. Refused while the node serves the account (that would delete live mail). */
  async cleanupChildCopy(principal: Principal, alias: string, username: string): Promise<JobView> {
    this.requireAdmin(principal, "removing a node's copy of an account");
    const node = await this.requireNode(alias);
    const account = await this.requireAccount(username);
    if ((await this.repo.mailNodeId(account.id)) === node.id) {
      throw new ConflictError(`account '${username}' is distributed to '${alias}', which serves its mail; move it back with \`account modify ${username} --mail-node local\` first`);
    }
    const copy = (await this.repo.copiesOfAccount(account.id)).find((c) => c.nodeId === node.id);
    if (!copy) throw new ConflictError(`node '${alias}' keeps no copy of account '${username}'`);
    if (copy.phase !== 'grace') throw new ConflictError(`the copy of '${username}' on '${alias}' is part of a move under way (${copy.phase}); see \`fleetpanel job list --key account:${username}\``);
    return this.jobs.enqueue({ type: CHILD_CLEANUP_JOB, key: `account:${username}`, data: { account: username, accountId: account.id, nodeId: node.id }, ifBusy: 'refuse', createdBy: principal.username });
  }

  /**
   * `node force-dedistribute ALIAS USER… --accept-data-loss`: for a child that is gone or not to
   * be trusted. The parent serves the accounts at once with what it holds; the child's logins for
   * them are removed when it answers; the report compares the last digest the parent took of each
   * child mailbox with what the parent now holds.
   */
  async forceDedistribute(principal: Principal, alias: string, usernames: readonly string[], acceptDataLoss: boolean): Promise<ForcedDedistributionReport> {
    this.requireAdmin(principal, 'forced dedistribution');
    if (!acceptDataLoss) throw new ValidationError('acceptDataLoss', 'forced dedistribution loses the mail only the child holds; confirm with --accept-data-loss');
    if (usernames.length === 0) throw new ValidationError('usernames', 'name at least one account');
    const child = await this.requireNode(alias);
    if (child.is_local === 1) throw new ValidationError('node', `'${alias}' is the parent's own node`);
    const local = await this.localNode();
    if (!local) throw new ValidationError('node', 'the parent has no node of its own linked');
    const accounts: AccountRecord[] = [];
    for (const username of new Set(usernames)) {
      const account = await this.requireAccount(username);
      const onChild = (await this.repo.mailNodeId(account.id)) === child.id || (await this.repo.copiesOfAccount(account.id)).some((c) => c.nodeId === child.id);
      if (!onChild) throw new ConflictError(`account '${username}' is not distributed to '${alias}' and '${alias}' keeps no copy of it`);
      const active = (await this.jobs.list({ key: `account:${username}` })).find((j) => ACTIVE_JOB_STATES.includes(j.state));
      if (active && !MAIL_MOVE_JOBS.includes(active.type)) {
        throw new ConflictError(`job ${active.id} (${active.type}) is ${active.state} on account '${username}'; let it finish or cancel it with \`fleetpanel job cancel ${active.id}\` first`, { job: active.id });
      }
      accounts.push(account);
    }

    // A move of these accounts cannot finish or be undone without the child, which is gone: the
    // move is given up where it stands and the forced dedistribution below takes over its state.
    const abandoned: number[] = [];
    for (const account of accounts) {
      const active = (await this.jobs.list({ key: `account:${account.username}` })).find((j) => ACTIVE_JOB_STATES.includes(j.state));
      if (active) {
        await this.jobs.abandon(active.id, principal.username, `forced dedistribution of '${account.username}' from '${alias}'`);
        abandoned.push(active.id);
      }
    }

    const report: ForcedDedistributionReport = { node: alias, abandonedJobs: abandoned, accounts: [] };
    for (const account of accounts) {
      await this.repo.setMailNode(account.id, local.id, true);
      for (const copy of await this.repo.copiesOfAccount(account.id)) await this.repo.removeCopy(account.id, copy.nodeId);
      await this.mover.deps.mail.pushNode(local);
      await this.mover.deps.refreshZone(account);
      await this.repo.recordRevocation(account.id, child.id, account.username);
      const revoked = await this.applyRevocation(account.id, child);
      report.accounts.push({ username: account.username, revoked: revoked ? 'applied' : 'recorded, applied when the node answers', mailboxes: await this.lostMail(account, child, local) });
    }
    return report;
  }

  private async lostMail(account: AccountRecord, child: NodeRow, local: NodeRow): Promise<LostMailReport[]> {
    const lastKnown = new Map((await this.repo.digestsOf(account.id, child.id)).map((d) => [d.address, d]));
    const result: LostMailReport[] = [];
    for (const address of await this.mover.addressesOf(account)) {
      const onParent = await this.mover.digest(local, address);
      const known = lastKnown.get(address);
      const lost = known ? missingGuids(known.guids, onParent.guids) : [];
      result.push({
        address,
        lastKnownAt: known ? new Date(known.takenAt).toISOString() : null,
        lastKnownMessages: known?.messages ?? null,
        messagesOnParent: onParent.messages,
        lostGuids: lost,
        note: known
          ? `${lost.length} message(s) lost; mail the child received after ${new Date(known.takenAt).toISOString()} is unknown to the parent and lost too`
          : 'the parent never took a digest of this mailbox on the child; what it held is unknown',
      });
    }
    return result;
  }

  /** Pushes the child's state, which no longer lists the account; false when the child does not answer. */
  private async applyRevocation(accountId: number, child: NodeRow): Promise<boolean> {
    try {
      await this.mover.deps.mail.pushNode(child);
      await this.repo.markRevoked(accountId, child.id);
      return true;
    } catch (error) {
      if (error instanceof FleetError && error.kind === 'node_unavailable') return false;
      throw error;
    }
  }

  // ---- maintenance, run on a timer by the module

  /** Grace periods that ended get their cleanup job; a job already on the account goes first. */
  async enqueueExpiredCleanups(now = Date.now()): Promise<number> {
    let queued = 0;
    for (const copy of await this.repo.expiredGraceCopies(now)) {
      const account = await this.mover.deps.accountByName((await this.repo.accountName(copy.accountId)) ?? '');
      if (!account) continue;
      const active = (await this.jobs.list({ key: `account:${account.username}` })).some((j) => ACTIVE_JOB_STATES.includes(j.state));
      if (active) continue;
      await this.jobs.enqueue({ type: CHILD_CLEANUP_JOB, key: `account:${account.username}`, data: { account: account.username, accountId: account.id, nodeId: copy.nodeId }, ifBusy: 'refuse', createdBy: 'grace-period' });
      queued++;
    }
    return queued;
  }

  async applyPendingRevocations(): Promise<number> {
    let applied = 0;
    for (const revocation of await this.repo.pendingRevocations()) {
      const child = await this.nodes.byId(revocation.nodeId);
      if (!child) continue;
      if (await this.applyRevocation(revocation.accountId, child)) applied++;
    }
    return applied;
  }

  /** Keeps the parent's last known digest of every distributed mailbox fresh, which is what a forced dedistribution reports against. */
  async refreshChildDigests(): Promise<void> {
    for (const node of await this.nodes.list()) {
      if (node.is_local === 1 || node.status !== 'ready') continue;
      for (const row of await this.repo.accountsOnNode(node.id)) {
        if ((await this.repo.mailNodeId(row.accountId)) !== node.id) continue;
        const account = await this.mover.deps.accountByName(row.username);
        if (!account) continue;
        for (const address of await this.mover.addressesOf(account)) {
          const digest = await this.mover.digest(node, address).catch(() => undefined);
          if (digest) await this.repo.saveDigest({ address, nodeId: node.id, accountId: account.id, messages: digest.messages, guids: digest.guids, takenAt: Date.now() });
        }
      }
    }
  }
}
