/**
 * Wires mail distribution into the parent: the move jobs, the state contributor that keeps a
 * moving or lingering copy known to its node's Dovecot, the node-usage check (a node keeping a
 * copy cannot be unlinked under it) and the maintenance timer (grace periods, revocations, digests).
 * Attached after the mail and DNS modules, whose services it uses.
 */
import type { ParentContext } from '../parent/parent-context.ts';
import { AccountsRepository } from '../accounts/accounts.repository.ts';
import { NodesRepository, type NodeRow } from '../nodes/nodes.repository.ts';
import { MailRepository } from '../mail/mail.repository.ts';
import { mailAgentsOver } from '../mail/mail.service.ts';
import type { MailState } from '../mail/mail-state.ts';
import { DistributionRepository } from './distribution.repository.ts';
import { DistributionService } from './distribution.service.ts';
import { addMailCopies, type MailCopy } from './mail-copies.ts';
import { childCleanupJob, MailMover, moveMailJob } from './move-mail.job.ts';

declare module '../parent/parent-context.ts' {
  interface ParentContext {
    /** moving accounts' mail between the parent and its mail children (issue 5) */
    distribution?: DistributionService;
  }
}

function positiveMsFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 100) throw new Error(`${name} must be a whole number of milliseconds, at least 100`);
  return value;
}

export function attachDistribution(ctx: ParentContext): void {
  const { jobs, mail, dns } = ctx;
  if (!jobs || !mail) throw new Error('distribution needs the job engine and the mail workload attached before it');
  const repo = new DistributionRepository(ctx.db);
  const accountsRepo = new AccountsRepository(ctx.db);
  const nodesRepo = new NodesRepository(ctx.db);
  const mailRepo = new MailRepository(ctx.db);
  const localNode = async (): Promise<NodeRow | undefined> => (await nodesRepo.list()).find((n) => n.is_local === 1);

  const mover = new MailMover({
    accountByName: (username) => accountsRepo.byUsername(username),
    nodeById: (id) => nodesRepo.byId(id),
    localNode,
    repo,
    mail,
    agents: mailAgentsOver(ctx.connections),
    pipeForwarders: {
      list: (accountId) => mailRepo.pipeForwarders([accountId]),
      remove: async (row) => {
        await mailRepo.removePipeForwarders(row.accountId, row.source, row.command);
      },
      restore: (row) => mailRepo.insertPipeForwarder(row),
    },
    refreshZone: async (account) => {
      await dns?.refreshZone(account);
    },
  });
  jobs.register(moveMailJob('distribute', mover));
  jobs.register(moveMailJob('dedistribute', mover));
  jobs.register(childCleanupJob(mover));

  mail.addStateContributor(async (node: NodeRow, state: MailState) => {
    // While another node's copy of an account is synced into this one (its mail node), this node
    // holds the account's incoming mail: a delivery racing doveadm sync can be stored twice.
    for (const draining of await repo.drainingCopies()) {
      if (draining.nodeId === node.id || (await repo.mailNodeId(draining.accountId)) !== node.id) continue;
      const name = await repo.accountName(draining.accountId);
      const account = name === undefined ? undefined : await accountsRepo.byUsername(name);
      const entry = account && state.domains.find((d) => d.domain === account.domain);
      if (entry && entry.relayTo === undefined) entry.holdDelivery = true;
    }
    const copies = await repo.copiesOnNode(node.id);
    if (copies.length === 0) return;
    const local = await localNode();
    const found: MailCopy[] = [];
    for (const copy of copies) {
      const name = await repo.accountName(copy.accountId);
      const account = name === undefined ? undefined : await accountsRepo.byUsername(name);
      const mailNodeId = account && (await repo.mailNodeId(account.id));
      const mailNode = mailNodeId === undefined ? undefined : await nodesRepo.byId(mailNodeId);
      if (!account || !mailNode) continue;
      const mailboxes = (await mail.mailboxesOf(account)).map((m) => ({ address: m.address, passwordHash: m.passwordHash, quotaMb: m.quotaMb, suspended: account.suspended }));
      found.push({ domain: account.domain, account: account.username, suspended: account.suspended, phase: copy.phase, mailboxes, mailNodeAddress: mailNode.host, parentAddress: local?.host });
    }
    addMailCopies(state, found, node.host);
  });

  ctx.nodes.addUsage(async (node) => {
    const names = await Promise.all((await repo.copiesOnNode(node.id)).map((c) => repo.accountName(c.accountId)));
    return names.flatMap((name) => (name === undefined ? [] : [`${name} (mail copy)`]));
  });

  const service = new DistributionService(repo, mover, jobs, nodesRepo);
  ctx.distribution = service;

  // Maintenance: each pass is cheap when nothing is due; a failing pass is retried by the next.
  const tickMs = positiveMsFromEnv('FLEETPANEL_DISTRIBUTION_TICK_MS', 30_000);
  const digestEvery = Math.max(1, Math.round(positiveMsFromEnv('FLEETPANEL_CHILD_DIGEST_INTERVAL_MS', 15 * 60_000) / tickMs));
  let ticks = 0;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void (async () => {
      try {
        await service.enqueueExpiredCleanups();
        await service.applyPendingRevocations();
        if (ticks++ % digestEvery === 0) await service.refreshChildDigests();
      } catch (error) {
        process.stderr.write(`distribution maintenance: ${(error as Error).message}\n`);
      } finally {
        running = false;
      }
    })();
  }, tickMs);
  timer.unref();
  ctx.onClose.push(() => clearInterval(timer));
}
