/**
 * `account.transfer`: one account moves to another parent/child pair while its users keep sending
 * and reading mail. The same shape as the mail move (src/distribution/move-mail.job.ts): the
 * target gets the records first with its deliveries held, the source relays new mail there, the
 * mailboxes are copied in bulk and reconciled with `doveadm sync`, every GUID is verified, and only
 * then the target delivers and the source removes its copy. Every step and undo is idempotent.
 *
 * The rule that keeps mail from being lost: the source's copy goes only after every message GUID
 * in it was seen on the target (verify, and again in clean).
 */
import type { Readable } from 'node:stream';
import { ConflictError, FleetError, NodeUnavailableError, NotFoundError } from '../core/errors.ts';
import { defineJob, type JobDefinition } from '../jobs/index.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';
import type { MailboxDigest } from '../protocol/mail-state.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { NodeRow, NodesRepository } from '../nodes/nodes.repository.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import type { MailAgents } from '../mail/mail-agents.ts';
import type { MailStatePusher } from '../mail/mail-state-pusher.ts';
import type { WebService } from '../web/web.service.ts';
import { missingGuids } from '../distribution/distribution-rules.ts';
import { testPoint } from '../distribution/test-points.ts';
import { TRANSFER_FORWARD_MS, type TransfersRepository } from './transfers.repository.ts';
import { TargetParent } from './target-parent.client.ts';
import { DatabaseMover, type DatabaseMoves } from './database-moves.ts';
import { returnAddressOf } from './return-address.ts';

export const TRANSFER_JOB = 'account.transfer';

export interface TransferData extends Record<string, unknown> {
  account: string;
  accountId: number;
  targetUrl: string;
  /** target child alias or 'local'; absent: the target's own node */
  mailNode?: string;
  sourceName: string;
  mailboxes?: string[];
  targetMailNode?: string;
  targetMailAddress?: string;
  copied?: string[];
  verified?: string[];
  /** databases whose SQL the target restored (the source's users are locked from the first on) */
  restoredDatabases?: string[];
}

export interface TransferDeps {
  repo: TransfersRepository;
  accounts: Pick<AccountsService, 'nodeOf' | 'terminate'>;
  accountByName(username: string): Promise<AccountRecord | undefined>;
  mailStates: Pick<MailStatePusher, 'pushAccountNodes' | 'mailboxesOf'>;
  mailAgents: Pick<MailAgents, 'kick' | 'mailboxDigest'>;
  /** pushes the web node's state, which forwards the site once the export names the target's web node */
  web: Pick<WebService, 'pushNode'>;
  connections: Pick<NodeConnections, 'forRow'>;
  nodes: Pick<NodesRepository, 'byId'>;
}

const ADMIN = { username: 'admin', role: 'admin' as const };

export class AccountTransfer {
  /** The databases' part of the move, shared with the re-parent of a child. */
  readonly databases: DatabaseMoves;

  constructor(readonly deps: TransferDeps) {
    this.databases = new DatabaseMover(deps);
  }

  async account(data: TransferData): Promise<AccountRecord> {
    const account = await this.deps.accountByName(data.account);
    if (!account) throw new NotFoundError('account', data.account);
    return account;
  }

  /** The target parent, with the token kept beside the export (never in the job's data). */
  async target(data: TransferData): Promise<TargetParent> {
    const row = await this.deps.repo.exportOf(data.accountId);
    if (!row) throw new ConflictError(`the transfer of '${data.account}' lost its target token (the export row is gone); cancel the job and start the transfer again`);
    return new TargetParent(row.targetUrl, row.targetToken);
  }

  async sourceMailNode(account: AccountRecord): Promise<NodeRow> {
    return this.deps.accounts.nodeOf(account, 'mail');
  }

  async sourceDigest(node: NodeRow, address: string): Promise<MailboxDigest> {
    try {
      return await this.deps.mailAgents.mailboxDigest(node, address);
    } catch (error) {
      if (error instanceof FleetError && error.kind === 'not_found') return { messages: 0, guids: [] };
      throw error;
    }
  }

  /** Files in bulk when the target holds none of the mailbox yet, then `doveadm sync` from the source's mail node to the target's. */
  async copyMailbox(node: NodeRow, target: TargetParent, username: string, address: string): Promise<'bulk' | 'sync'> {
    let placed = false;
    let archive: Readable | undefined;
    try {
      archive = await this.deps.connections.forRow(node).openStream(`/v1/mail/mailboxes/${encodeURIComponent(address)}/archive`, 31 * 60_000);
    } catch (error) {
      // No Maildir on the source (never received mail): nothing to stream.
      if (!(error instanceof FleetError && error.kind === 'not_found')) throw error;
    }
    if (archive) placed = (await target.putMailbox(username, address, archive)).placed;
    await this.sync(node, target, username, address, !placed);
    return placed ? 'bulk' : 'sync';
  }

  async sync(node: NodeRow, target: TargetParent, username: string, address: string, full: boolean): Promise<void> {
    const mailTarget = await target.mailTarget(username);
    try {
      await this.deps.connections.forRow(node).send(AGENT_ROUTES.mailboxSyncTo, { params: { address }, body: { targetAddress: mailTarget.address, targetDoveadmPassword: mailTarget.doveadmPassword, full } });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/connect|refused|timed? ?out|unreachable|disconnected|EOF|Broken pipe/i.test(message)) throw new NodeUnavailableError({ message: `the target's mail node ${mailTarget.address} did not answer doveadm: ${message.split('\n')[0]}` });
      throw error;
    }
  }

  /** Syncs once more when the target lacks a GUID the source holds; throws when it still does. */
  async verifyMailbox(node: NodeRow, target: TargetParent, username: string, address: string): Promise<{ held: number; copied: number }> {
    const held = await this.sourceDigest(node, address);
    let copy = await target.digest(username, address);
    if (missingGuids(held.guids, copy.guids).length > 0) {
      await this.sync(node, target, username, address, true);
      copy = await target.digest(username, address);
    }
    const missing = missingGuids(held.guids, copy.guids);
    if (missing.length > 0) throw new ConflictError(`${address}: ${missing.length} of ${held.messages} message(s) did not arrive at the target; the source keeps its copy`, { missing });
    return { held: held.messages, copied: copy.messages };
  }
}

export function transferAccountJob(transfer: AccountTransfer): JobDefinition<TransferData> {
  const deps = transfer.deps;
  return defineJob<TransferData>({
    type: TRANSFER_JOB,
    onFailure: 'undo',
    maxAttempts: 5,
    steps: [
      {
        name: 'plan',
        async run(ctx, job) {
          await testPoint('transfer:plan');
          const account = await transfer.account(job.data);
          const target = await transfer.target(job.data);
          const mailboxes = (await deps.mailStates.mailboxesOf(account)).map((m) => m.address).sort();
          // Run again after a crash that followed the import, the target holds the account already.
          const already = await target.underWay(account.username);
          const databases = await deps.repo.databasesOf(account.id);
          const answer = already ? undefined : await target.check(account.username, account.domain, job.data.mailNode, databases !== undefined);
          await ctx.progress(`transferring ${account.username} (${account.domain}, ${mailboxes.length} mailbox(es), ${databases?.names.length ?? 0} database(s)) to ${target.url}${answer ? `, mail on its node ${answer.mailNode}` : ''}`);
          return { mailboxes };
        },
        async undo(ctx, job) {
          // The last undo: the target's token goes with the transfer.
          await deps.repo.removeExport(job.data.accountId);
          await ctx.progress('the transfer is undone; the account stays here');
        },
      },
      {
        name: 'import',
        async run(ctx, job) {
          const account = await transfer.account(job.data);
          const target = await transfer.target(job.data);
          await testPoint('transfer:import');
          if (!(await target.underWay(account.username))) {
            const bundle = await deps.repo.bundleOf(account.id, job.data.sourceName);
            const databases = await transfer.databases.bundleOf(account);
            const answer = await target.import({ ...bundle, ...(job.data.mailNode ? { mailNode: job.data.mailNode } : {}), ...(databases ? { databases } : {}) });
            await ctx.progress(`the target holds ${account.username}'s records: mail on ${answer.mailNode}, owner ${answer.owner}, plan ${answer.plan}; its deliveries are held until the copy is verified`);
          }
          const mailTarget = await target.mailTarget(account.username);
          return { targetMailAddress: mailTarget.address };
        },
        async undo(ctx, job) {
          const target = await transfer.target(job.data);
          // The route step's undo already delivers here again: what the target held comes back here.
          const account = await transfer.account(job.data).catch(() => undefined);
          const mailNode = account && (await transfer.sourceMailNode(account));
          const back = mailNode && returnAddressOf(mailNode.alias, mailNode.host);
          if (back && 'why' in back) await ctx.progress(back.why);
          const { removed } = await target.abort(job.data.account, back?.returnTo);
          await ctx.progress(removed ? 'the target removed the imported account' : 'the target held nothing of the account');
        },
      },
      {
        name: 'route',
        async run(ctx, job) {
          const account = await transfer.account(job.data);
          await deps.repo.setExportRoute(account.id, job.data.targetMailAddress!);
          await testPoint('transfer:route');
          await deps.mailStates.pushAccountNodes(account);
          await ctx.progress(`mail for ${account.domain} reaching this pair is relayed to the target's mail node ${job.data.targetMailAddress}; logins are still served here`);
        },
        async undo(ctx, job) {
          const account = await transfer.account(job.data);
          await deps.repo.setExportRoute(account.id, null);
          await deps.mailStates.pushAccountNodes(account);
          await ctx.progress(`mail for ${account.domain} is delivered here again`);
        },
      },
      {
        name: 'cut-over',
        async run(ctx, job) {
          const account = await transfer.account(job.data);
          const node = await transfer.sourceMailNode(account);
          const mailboxes = job.data.mailboxes ?? [];
          if (mailboxes.length > 0) await deps.mailAgents.kick(node, mailboxes);
          await ctx.progress(`ended open IMAP/POP3 sessions of ${mailboxes.length} mailbox(es) on ${node.alias}`);
        },
      },
      {
        name: 'copy',
        async run(ctx, job) {
          const account = await transfer.account(job.data);
          const node = await transfer.sourceMailNode(account);
          const target = await transfer.target(job.data);
          const addresses = job.data.mailboxes ?? [];
          const copied = [...(job.data.copied ?? [])];
          for (const address of addresses) {
            if (copied.includes(address)) continue;
            if (ctx.signal.aborted) throw ctx.signal.reason;
            await testPoint('transfer:copy');
            // Run again after a crash, the target declines the bulk copy (it holds the mailbox) and a full sync runs.
            const how = await transfer.copyMailbox(node, target, account.username, address);
            copied.push(address);
            await ctx.checkpoint({ copied });
            await ctx.progress(`copied mailbox ${copied.length}/${addresses.length} (${how === 'bulk' ? 'files in bulk, then doveadm sync' : 'doveadm sync'})`);
          }
          return { copied };
        },
      },
      {
        name: 'files',
        async run(ctx, job) {
          const account = await transfer.account(job.data);
          const webNode = await deps.accounts.nodeOf(account, 'web');
          const target = await transfer.target(job.data);
          await testPoint('transfer:files');
          let archive: Readable;
          try {
            archive = await deps.connections.forRow(webNode).openStream(`/v1/web/accounts/${encodeURIComponent(account.username)}/sites/${encodeURIComponent(account.domain)}/archive`, 31 * 60_000);
          } catch (error) {
            if (error instanceof FleetError && error.kind === 'not_found') {
              await ctx.progress(`${account.domain} has no site files on ${webNode.alias}`);
              return;
            }
            throw error;
          }
          // Run again, the whole folder is copied again in place of the first copy: nothing doubles.
          await target.putSite(account.username, archive);
          await ctx.progress(`copied the files of ${account.domain} from ${webNode.alias} to the target's web node`);
        },
      },
      {
        name: 'databases',
        async run(ctx, job) {
          const account = await transfer.account(job.data);
          const source = await transfer.databases.sourceOf(account);
          if (!source) {
            await ctx.progress(`${account.username} has no databases`);
            return;
          }
          const target = await transfer.target(job.data);
          await testPoint('transfer:databases');
          // Nothing may write here after its dump: the copy at the target must be the whole truth when this copy goes.
          const locked = await transfer.databases.lockUsers(source.node, account.username, true);
          await ctx.progress(`locked ${locked.length} database user(s) of ${account.username} on ${source.node.alias} and ended their sessions`);
          const restored = await transfer.databases.copyAll(source, target, account.username, job.data.restoredDatabases ?? [], async (done, name) => {
            await ctx.checkpoint({ restoredDatabases: done });
            await ctx.progress(`copied database ${done.length}/${source.names.length} (${name})`);
          }, ctx.signal);
          const { changed } = await target.repointDatabaseHost(account.username, source.node.host);
          if (changed) await ctx.progress(`the site's wp-config.php names the target's database node now`);
          return { restoredDatabases: restored };
        },
        async undo(ctx, job) {
          const account = await transfer.account(job.data).catch(() => undefined);
          const source = account && (await transfer.databases.sourceOf(account));
          if (!account || !source) return;
          await transfer.databases.lockUsers(source.node, account.username, false);
          await ctx.progress(`the database users of ${account.username} on ${source.node.alias} can log in again`);
        },
      },
      {
        // After the files, not at cut-over: until then the target's site is the placeholder.
        name: 'web-proxy',
        async run(ctx, job) {
          const account = await transfer.account(job.data);
          const webNode = await deps.accounts.nodeOf(account, 'web');
          const target = await transfer.target(job.data);
          const { address } = await target.webTarget(account.username);
          await deps.repo.setExportWebProxy(account.id, address);
          await testPoint('transfer:web-proxy');
          await deps.web.pushNode(webNode);
          await ctx.progress(`${webNode.alias} forwards the requests for ${account.domain} to the target's web node ${address} (Host kept) until this copy is removed`);
        },
        async undo(ctx, job) {
          const account = await transfer.account(job.data);
          await deps.repo.setExportWebProxy(account.id, null);
          await deps.web.pushNode(await deps.accounts.nodeOf(account, 'web'));
          await ctx.progress(`${account.domain} is served here again`);
        },
      },
      {
        name: 'verify',
        async run(ctx, job) {
          const account = await transfer.account(job.data);
          const node = await transfer.sourceMailNode(account);
          const target = await transfer.target(job.data);
          await testPoint('transfer:verify');
          const verified: string[] = [];
          for (const address of job.data.mailboxes ?? []) {
            const { held, copied } = await transfer.verifyMailbox(node, target, account.username, address);
            verified.push(address);
            await ctx.progress(`${address}: ${held} message(s) here, all at the target (${copied})`);
          }
          const databases = await transfer.databases.sourceOf(account);
          for (const name of databases?.names ?? []) {
            const { tables, rows } = await transfer.databases.verify(databases!.node, target, account.username, name);
            await ctx.progress(`database ${name}: ${tables} table(s), ${rows} row(s), the same row counts and checksums at the target`);
          }
          return { verified };
        },
      },
      {
        name: 'finish',
        async run(ctx, job) {
          const target = await transfer.target(job.data);
          await testPoint('transfer:finish');
          await target.finish(job.data.account);
          await ctx.progress('the target delivers the mail it held and serves the account');
        },
      },
      {
        name: 'clean',
        async run(ctx, job) {
          const account = await transfer.account(job.data).catch(() => undefined);
          // Run again after the account was removed here: nothing is left to clean.
          if (!account) return;
          const node = await transfer.sourceMailNode(account);
          const target = await transfer.target(job.data);
          await testPoint('transfer:clean');
          for (const address of job.data.verified ?? []) await transfer.verifyMailbox(node, target, account.username, address);
          // Mail still reaching this pair (an old MX, a message accepted while Postfix reloads) goes on to the target.
          await deps.repo.setForward({ domain: account.domain, account: account.username, targetMailAddress: job.data.targetMailAddress! });
          await deps.accounts.terminate(ADMIN, account.username);
          await ctx.progress(`removed ${account.username} from this pair: mailboxes, site (and its forward to the target), databases, certificate, zone and records; mail still reaching it is relayed to the target for ${Math.round(TRANSFER_FORWARD_MS / 3_600_000)} h`);
        },
      },
    ],
  });
}
