/**
 * `mail.distribute` and `mail.dedistribute`: one account's mail moves from the node serving it
 * (source) to another (target) while its users keep sending and reading mail. Both are the same
 * seven steps; they differ only in what happens to the source's copy at the end (removed, or
 * kept for a grace period with routing back). Every step and undo is idempotent: after a crash
 * the engine runs the interrupted one again.
 *
 * The rule that keeps mail from being lost: a copy of a mailbox is deleted only after every
 * message GUID in it was seen on the other side (verify before delete, in clean and in undo).
 */
import { ConflictError, FleetError, NodeUnavailableError, NotFoundError } from '../core/errors.ts';
import { defineJob, type JobDefinition, type StepContext } from '../jobs/index.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { MailAgents } from '../mail/mail-agents.ts';
import type { MailStatePusher } from '../mail/mail-state-pusher.ts';
import type { MailboxDigest } from '../protocol/mail-state.ts';
import type { PipeForwarderRow } from '../mail/mail.repository.ts';
import type { DistributionRepository } from './distribution.repository.ts';
import { testPoint } from './test-points.ts';
import { checkDedistribute, checkDistribute, missingGuids, type NodeFacts } from './distribution-rules.ts';

export const DISTRIBUTE_JOB = 'mail.distribute';
export const DEDISTRIBUTE_JOB = 'mail.dedistribute';
export const CHILD_CLEANUP_JOB = 'mail.child-cleanup';

export type MoveDirection = 'distribute' | 'dedistribute';

export interface MoveMailData extends Record<string, unknown> {
  account: string;
  accountId: number;
  sourceNodeId: number;
  targetNodeId: number;
  direction: MoveDirection;
  dropPipeForwarders?: boolean;
  /** dedistribution: how long the child keeps the account routing back */
  graceMs?: number;
  mailboxes?: string[];
  droppedPipeForwarders?: PipeForwarderRow[];
  copied?: string[];
  verified?: string[];
  cleaned?: string[];
  syncedBack?: string[];
}

export interface ChildCleanupData extends Record<string, unknown> {
  account: string;
  accountId: number;
  nodeId: number;
  removed?: string[];
  closing?: boolean;
}

export interface MoveMailDeps {
  accountByName(username: string): Promise<AccountRecord | undefined>;
  nodeById(id: number): Promise<NodeRow | undefined>;
  localNode(): Promise<NodeRow | undefined>;
  repo: DistributionRepository;
  mail: Pick<MailStatePusher, 'pushNode' | 'mailboxesOf'>;
  agents: MailAgents;
  pipeForwarders: {
    list(accountId: number): Promise<PipeForwarderRow[]>;
    remove(row: PipeForwarderRow): Promise<void>;
    restore(row: PipeForwarderRow): Promise<void>;
  };
  refreshZone(account: AccountRecord): Promise<void>;
}

export const nodeFacts = (row: NodeRow): NodeFacts => ({
  alias: row.alias,
  roles: row.roles,
  status: row.status,
  local: row.is_local === 1,
  servicesDown: (JSON.parse(row.services) as { name: string; running: boolean; state?: string }[]).filter((s) => !s.running || (s.state ?? 'running') !== 'running').map((s) => s.name),
});

/** A sync that fails because the other Dovecot does not answer is the node being away, so the engine waits for it instead of giving up. */
function asNodeUnavailable(error: unknown, node: NodeRow): unknown {
  if (error instanceof FleetError && error.kind === 'node_unavailable') return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/connect|refused|timed? ?out|unreachable|disconnected|EOF|Broken pipe/i.test(message)) return new NodeUnavailableError(node.alias, `mail copy could not reach it: ${message.split('\n')[0]}`);
  return error;
}

export class MailMover {
  constructor(readonly deps: MoveMailDeps) {}

  async account(data: { account: string }): Promise<AccountRecord> {
    const account = await this.deps.accountByName(data.account);
    if (!account) throw new NotFoundError('account', data.account);
    return account;
  }

  async node(id: number): Promise<NodeRow> {
    const row = await this.deps.nodeById(id);
    if (!row) throw new NodeUnavailableError({ message: `node #${id} is no longer linked`, details: { node: `#${id}` } });
    return row;
  }

  async digest(node: NodeRow, address: string): Promise<MailboxDigest> {
    try {
      return await this.deps.agents.mailboxDigest(node, address);
    } catch (error) {
      // A mailbox that never received mail has no Maildir yet: it holds nothing.
      if (error instanceof FleetError && error.kind === 'not_found') return { messages: 0, guids: [] };
      throw error;
    }
  }

  async syncMailbox(from: NodeRow, address: string, to: NodeRow, password: string): Promise<void> {
    try {
      await this.deps.agents.syncMailboxTo(from, address, to, password);
    } catch (error) {
      throw asNodeUnavailable(error, to);
    }
  }

  /**
   * The copy step's work for one mailbox: its files in bulk when the target has none yet (a tar
   * stream relayed by the parent: UIDs, UIDVALIDITY and GUIDs travel in dovecot-uidlist), then
   * `doveadm sync` for what changed meanwhile — a quick one after a bulk copy, a full one when
   * the target already held the mailbox and the bulk copy was declined. Returns how it went.
   */
  async copyMailbox(from: NodeRow, address: string, to: NodeRow, password: string): Promise<'bulk' | 'sync'> {
    let placed = false;
    try {
      placed = (await this.deps.agents.copyMailboxFiles(from, address, to)).placed;
    } catch (error) {
      // No Maildir on the source (never received mail): there is nothing to stream.
      if (!(error instanceof FleetError && error.kind === 'not_found')) throw asNodeUnavailable(error, to);
    }
    try {
      await this.deps.agents.syncMailboxTo(from, address, to, password, { full: !placed });
    } catch (error) {
      throw asNodeUnavailable(error, to);
    }
    return placed ? 'bulk' : 'sync';
  }

  async doveadmPassword(node: NodeRow): Promise<string> {
    return this.deps.agents.doveadmPassword(node);
  }

  /**
   * Deletes `holder`'s copy of a mailbox once every message in it is on `keeper` too; syncs it
   * over first when some are missing (mail that arrived at the holder late). Refuses rather than
   * delete a message that exists nowhere else.
   */
  async removeCopyIfSafe(holder: NodeRow, keeper: NodeRow, address: string): Promise<void> {
    const held = await this.digest(holder, address);
    if (held.messages > 0) {
      let missing = missingGuids(held.guids, (await this.digest(keeper, address)).guids);
      if (missing.length > 0) {
        await this.syncMailbox(holder, address, keeper, await this.doveadmPassword(keeper));
        missing = missingGuids(held.guids, (await this.digest(keeper, address)).guids);
      }
      if (missing.length > 0) {
        throw new ConflictError(`${address} on '${holder.alias}' holds ${missing.length} message(s) that '${keeper.alias}' lacks even after a sync; its copy is kept`, { missing });
      }
    }
    await this.deps.agents.removeMailboxData(holder, address);
  }

  /** Addresses the move covers: those planned plus any mailbox created since (the store is the list). */
  async addressesOf(account: AccountRecord, planned: readonly string[] = []): Promise<string[]> {
    const current = (await this.deps.mail.mailboxesOf(account)).map((m) => m.address);
    return [...new Set([...planned, ...current])].sort();
  }

  async pushBoth(first: NodeRow, second: NodeRow): Promise<void> {
    await this.deps.mail.pushNode(first);
    await this.deps.mail.pushNode(second);
  }

  /** Alias of the child serving the account's mail, null when the parent's own node does. */
  async mailChildOf(accountId: number): Promise<string | null> {
    const mailNodeId = await this.deps.repo.mailNodeId(accountId);
    const row = mailNodeId === undefined ? undefined : await this.deps.nodeById(mailNodeId);
    if (!row) return mailNodeId === undefined ? null : `#${mailNodeId}`;
    return row.is_local === 1 ? null : row.alias;
  }
}

async function progressEach(ctx: StepContext, done: number, total: number, what: string): Promise<void> {
  await ctx.progress(`${what} ${done}/${total}`);
}

export function moveMailJob(direction: MoveDirection, mover: MailMover): JobDefinition<MoveMailData> {
  const deps = mover.deps;
  return defineJob<MoveMailData>({
    type: direction === 'distribute' ? DISTRIBUTE_JOB : DEDISTRIBUTE_JOB,
    onFailure: 'undo',
    maxAttempts: 5,
    steps: [
      {
        name: 'plan',
        async run(ctx, job) {
          await testPoint(`${direction}:plan`);
          const account = await mover.account(job.data);
          const source = await mover.node(job.data.sourceNodeId);
          const target = await mover.node(job.data.targetNodeId);
          const mailNodeId = await deps.repo.mailNodeId(account.id);
          const facts = { username: account.username, ipv6: account.ipv6, mailChild: await mover.mailChildOf(account.id) };
          // Re-running plan after a crash must not refuse the pipe forwarders it dropped itself.
          const dropped = job.data.droppedPipeForwarders ?? [];
          if (direction === 'distribute') {
            const pipes = await deps.pipeForwarders.list(account.id);
            checkDistribute(facts, nodeFacts(target), pipes, job.data.dropPipeForwarders === true);
            for (const pipe of pipes) {
              await deps.pipeForwarders.remove(pipe);
              dropped.push(pipe);
              await ctx.checkpoint({ droppedPipeForwarders: dropped });
            }
            if (pipes.length > 0) await deps.mail.pushNode(source);
          } else {
            checkDedistribute(facts, nodeFacts(target));
            if (mailNodeId !== source.id) throw new ConflictError(`the mail of account '${account.username}' is not on '${source.alias}' any more`);
          }
          const mailboxes = await mover.addressesOf(account);
          await ctx.progress(`${direction === 'distribute' ? 'distributing' : 'moving back'} ${mailboxes.length} mailbox(es) of ${account.username} from ${source.alias} to ${target.alias}${dropped.length > 0 ? `; dropped ${dropped.length} pipe forwarder(s)` : ''}`);
          return { mailboxes, droppedPipeForwarders: dropped };
        },
        async undo(ctx, job) {
          const dropped = job.data.droppedPipeForwarders ?? [];
          if (dropped.length === 0) return;
          const existing = await deps.pipeForwarders.list(job.data.accountId);
          for (const pipe of dropped) {
            if (!existing.some((p) => p.source === pipe.source && p.command === pipe.command)) await deps.pipeForwarders.restore(pipe);
          }
          await deps.mail.pushNode(await mover.node(job.data.sourceNodeId));
          await ctx.progress(`restored ${dropped.length} pipe forwarder(s)`);
        },
      },
      {
        name: 'prepare',
        async run(ctx, job) {
          const source = await mover.node(job.data.sourceNodeId);
          const target = await mover.node(job.data.targetNodeId);
          // A copy the target kept from an earlier move back is stale (the user deleted mail
          // since); syncing onto it would bring deleted messages back, so it goes first.
          const earlier = (await deps.repo.copiesOfAccount(job.data.accountId)).find((c) => c.nodeId === target.id && c.phase === 'grace');
          if (earlier) {
            for (const address of job.data.mailboxes ?? []) await mover.removeCopyIfSafe(target, source, address);
            await ctx.progress(`removed the stale copy ${target.alias} kept from an earlier move`);
          }
          await deps.repo.setCopy(job.data.accountId, target.id, 'staging');
          await testPoint(`${direction}:prepare`);
          await deps.mail.pushNode(target);
          await ctx.progress(`${target.alias} holds the account's domain and mailboxes, nothing routed to it yet`);
        },
        async undo(ctx, job) {
          const source = await mover.node(job.data.sourceNodeId);
          const target = await mover.node(job.data.targetNodeId);
          const copy = (await deps.repo.copiesOfAccount(job.data.accountId)).find((c) => c.nodeId === target.id);
          if (copy) {
            const account = await mover.account(job.data);
            for (const address of await mover.addressesOf(account, job.data.mailboxes)) await mover.removeCopyIfSafe(target, source, address);
            await deps.repo.removeCopy(job.data.accountId, target.id);
          }
          // The source is pushed too: it held deliveries while the target's copy drained into it.
          await mover.pushBoth(target, source);
          await ctx.progress(`${target.alias} no longer holds the account`);
        },
      },
      {
        name: 'route',
        async run(ctx, job) {
          const account = await mover.account(job.data);
          const source = await mover.node(job.data.sourceNodeId);
          const target = await mover.node(job.data.targetNodeId);
          await deps.repo.setMailNode(account.id, target.id, target.is_local === 1);
          await deps.repo.setCopy(account.id, source.id, 'draining');
          await testPoint(`${direction}:route`);
          // Target first: it must serve the domain before the source starts relaying to it.
          await mover.pushBoth(target, source);
          await deps.refreshZone(await mover.account(job.data));
          await ctx.progress(`mail, logins and DNS of ${account.domain} now go to ${target.alias}`);
        },
        async undo(ctx, job) {
          const account = await mover.account(job.data);
          const source = await mover.node(job.data.sourceNodeId);
          const target = await mover.node(job.data.targetNodeId);
          await deps.repo.setMailNode(account.id, source.id, source.is_local === 1);
          await deps.repo.removeCopy(account.id, source.id);
          await deps.repo.setCopy(account.id, target.id, 'draining');
          await mover.pushBoth(source, target);
          await deps.refreshZone(await mover.account(job.data));
          // Whatever reached the target while it served the account goes back before its copy is dropped.
          const password = await mover.doveadmPassword(source);
          const addresses = await mover.addressesOf(account, job.data.mailboxes);
          for (const [index, address] of addresses.entries()) {
            await mover.syncMailbox(target, address, source, password);
            await progressEach(ctx, index + 1, addresses.length, 'synced back');
          }
        },
      },
      {
        name: 'cut-over',
        async run(ctx, job) {
          const source = await mover.node(job.data.sourceNodeId);
          const mailboxes = job.data.mailboxes ?? [];
          await testPoint(`${direction}:cut-over`);
          if (mailboxes.length > 0) await deps.agents.kick(source, mailboxes);
          await ctx.progress(`ended open IMAP/POP3 sessions of ${mailboxes.length} mailbox(es) on ${source.alias}`);
        },
      },
      {
        name: 'copy',
        async run(ctx, job) {
          const account = await mover.account(job.data);
          const source = await mover.node(job.data.sourceNodeId);
          const target = await mover.node(job.data.targetNodeId);
          const addresses = await mover.addressesOf(account, job.data.mailboxes);
          const copied = [...(job.data.copied ?? [])];
          const password = await mover.doveadmPassword(target);
          for (const address of addresses) {
            if (copied.includes(address)) continue;
            if (ctx.signal.aborted) throw ctx.signal.reason;
            await testPoint(`${direction}:copy`);
            // Run again after a crash, a mailbox placed in bulk is declined the second time
            // (the target holds it) and gets the full sync instead: nothing is copied twice.
            const how = await mover.copyMailbox(source, address, target, password);
            copied.push(address);
            await ctx.checkpoint({ copied });
            await ctx.progress(`copied mailbox ${copied.length}/${addresses.length} (${how === 'bulk' ? 'files in bulk, then doveadm sync' : 'doveadm sync'})`);
          }
          return { mailboxes: addresses, copied };
        },
      },
      {
        name: 'verify',
        async run(ctx, job) {
          const source = await mover.node(job.data.sourceNodeId);
          const target = await mover.node(job.data.targetNodeId);
          const verified: string[] = [];
          const addresses = job.data.mailboxes ?? [];
          await testPoint(`${direction}:verify`);
          for (const address of addresses) {
            const held = await mover.digest(source, address);
            let copy = await mover.digest(target, address);
            if (missingGuids(held.guids, copy.guids).length > 0) {
              // One more pass catches mail the source accepted while the copy ran.
              await mover.syncMailbox(source, address, target, await mover.doveadmPassword(target));
              copy = await mover.digest(target, address);
            }
            const missing = missingGuids(held.guids, copy.guids);
            if (missing.length > 0 || copy.messages < held.messages) {
              throw new ConflictError(`${address}: ${missing.length} of ${held.messages} message(s) did not arrive on ${target.alias}; the move is undone`, { missing });
            }
            await deps.repo.saveDigest({ address, nodeId: target.id, accountId: job.data.accountId, messages: copy.messages, guids: copy.guids, takenAt: Date.now() });
            verified.push(address);
            await ctx.progress(`${address}: ${held.messages} message(s) on ${source.alias}, all on ${target.alias} (${copy.messages})`);
          }
          return { verified };
        },
      },
      {
        name: 'clean',
        async run(ctx, job) {
          const source = await mover.node(job.data.sourceNodeId);
          const target = await mover.node(job.data.targetNodeId);
          if (direction === 'distribute') {
            const cleaned = [...(job.data.cleaned ?? [])];
            for (const address of job.data.verified ?? []) {
              if (cleaned.includes(address)) continue;
              await deps.agents.removeMailboxData(source, address);
              await testPoint(`${direction}:clean`);
              cleaned.push(address);
              await ctx.checkpoint({ cleaned });
            }
            await deps.repo.removeCopy(job.data.accountId, source.id);
            await ctx.progress(`removed ${cleaned.length} verified mailbox(es) from ${source.alias}`);
          } else {
            const graceMs = job.data.graceMs ?? 7 * 86_400_000;
            await deps.repo.setCopy(job.data.accountId, source.id, 'grace', Date.now() + graceMs);
            await ctx.progress(`${source.alias} keeps the account, routing to ${target.alias}, for ${Math.round(graceMs / 1000)} s`);
          }
          await deps.repo.removeCopy(job.data.accountId, target.id);
          await mover.pushBoth(target, source);
        },
      },
    ],
  });
}

/** `mail.child-cleanup`: a node drops the copy it kept for the grace period, once everything in it is on the mail node. */
export function childCleanupJob(mover: MailMover): JobDefinition<ChildCleanupData> {
  const deps = mover.deps;
  return defineJob<ChildCleanupData>({
    type: CHILD_CLEANUP_JOB,
    onFailure: 'hold',
    steps: [
      {
        name: 'remove-copy',
        async run(ctx, job) {
          const holder = await mover.node(job.data.nodeId);
          const copy = (await deps.repo.copiesOfAccount(job.data.accountId)).find((c) => c.nodeId === holder.id);
          if (!copy) return;
          // 'draining' is this job's own doing when it runs again after a crash.
          if (copy.phase !== 'grace' && !(copy.phase === 'draining' && job.data.closing)) throw new ConflictError(`the copy of '${job.data.account}' on '${holder.alias}' is part of a move under way (${copy.phase}); it is not removed`);
          const account = await mover.account(job.data);
          const mailNodeId = await deps.repo.mailNodeId(account.id);
          if (mailNodeId === holder.id) throw new ConflictError(`'${holder.alias}' serves the mail of '${account.username}'; only a copy kept after a move back can be removed`);
          const keeper = await mover.node(mailNodeId!);
          // Reading the copy needs its logins unproxied (see mail-copies.ts); mail still relays to the keeper.
          await ctx.checkpoint({ closing: true });
          await deps.repo.setCopy(account.id, holder.id, 'draining');
          // The keeper holds deliveries while the copy drains into it (see the state contributor).
          await mover.pushBoth(keeper, holder);
          const held = (await deps.agents.heldMailboxes(holder, account.domain)).map((m) => m.address);
          const addresses = [...new Set([...(await mover.addressesOf(account)), ...held])];
          const removed = [...(job.data.removed ?? [])];
          for (const address of addresses) {
            if (removed.includes(address)) continue;
            await mover.removeCopyIfSafe(holder, keeper, address);
            removed.push(address);
            await ctx.checkpoint({ removed });
          }
          await deps.repo.removeCopy(account.id, holder.id);
          await mover.pushBoth(keeper, holder);
          await ctx.progress(`removed ${removed.length} mailbox(es) of ${account.username} from ${holder.alias}`);
        },
      },
    ],
  });
}
