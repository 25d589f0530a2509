/**
 * How mail distribution plugs into the parent: the move jobs, the state contributor that keeps a
 * moving or lingering copy known to its node's Dovecot, the node-usage check (a node keeping a
 * copy cannot be unlinked under it), the maintenance timer (grace periods, revocations, digests)
 * and the admin routes. Built after the job engine, mail and DNS, whose services it uses.
 */
import type { Store } from '../store/database.ts';
import type { JobEngine } from '../jobs/job-engine.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import type { MailStatePusher } from '../mail/mail-state-pusher.ts';
import type { DnsService } from '../dns/dns.service.ts';
import { msFromEnv } from '../core/env-numbers.ts';
import { runEvery } from '../core/periodic.ts';
import { AccountsRepository } from '../accounts/accounts.repository.ts';
import { NodesRepository, type NodeRow } from '../nodes/nodes.repository.ts';
import { MailRepository } from '../mail/mail.repository.ts';
import { mailAgentsOver } from '../mail/mail-agents.ts';
import type { MailState } from '../protocol/mail-state.ts';
import { DistributionRepository } from './distribution.repository.ts';
import { DistributionService } from './distribution.service.ts';
import { addMailCopies, type MailCopy } from './mail-copies.ts';
import { childCleanupJob, MailMover, moveMailJob } from './move-mail.job.ts';

export { registerDistributionRoutes } from './distribution.routes.ts';

export interface DistributionDeps {
  db: Store;
  jobs: JobEngine;
  mailStates: MailStatePusher;
  dns: Pick<DnsService, 'refreshZone'>;
  nodes: Pick<NodesService, 'addUsage'>;
  connections: NodeConnections;
  onClose: (close: () => Promise<void> | void) => void;
}

export function buildDistribution(deps: DistributionDeps): DistributionService {
  const { jobs, mailStates, dns } = deps;
  const repo = new DistributionRepository(deps.db);
  const accountsRepo = new AccountsRepository(deps.db);
  const nodesRepo = new NodesRepository(deps.db);
  const mailRepo = new MailRepository(deps.db);
  const localNode = async (): Promise<NodeRow | undefined> => (await nodesRepo.list()).find((n) => n.is_local === 1);

  const mover = new MailMover({
    accountByName: (username) => accountsRepo.byUsername(username),
    nodeById: (id) => nodesRepo.byId(id),
    localNode,
    repo,
    mail: mailStates,
    agents: mailAgentsOver(deps.connections),
    pipeForwarders: {
      list: (accountId) => mailRepo.pipeForwarders([accountId]),
      remove: async (row) => {
        await mailRepo.removePipeForwarders(row.accountId, row.source, row.command);
      },
      restore: (row) => mailRepo.insertPipeForwarder(row),
    },
    refreshZone: async (account) => {
      await dns.refreshZone(account);
    },
  });
  jobs.register(moveMailJob('distribute', mover));
  jobs.register(moveMailJob('dedistribute', mover));
  jobs.register(childCleanupJob(mover));

  mailStates.addStateContributor(async (node: NodeRow, state: MailState) => {
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
      const mailboxes = (await mailStates.mailboxesOf(account)).map((m) => ({ address: m.address, passwordHash: m.passwordHash, quotaMb: m.quotaMb, suspended: account.suspended }));
      found.push({ domain: account.domain, account: account.username, suspended: account.suspended, phase: copy.phase, mailboxes, mailNodeAddress: mailNode.host, parentAddress: local?.host });
    }
    addMailCopies(state, found, node.host);
  });

  deps.nodes.addUsage(async (node) => {
    const names = await Promise.all((await repo.copiesOnNode(node.id)).map((c) => repo.accountName(c.accountId)));
    return names.flatMap((name) => (name === undefined ? [] : [`${name} (mail copy)`]));
  });

  const service = new DistributionService(repo, mover, jobs, nodesRepo);

  // Maintenance: each pass is cheap when nothing is due; a failing pass is retried by the next.
  const tickMs = msFromEnv('FLEETPANEL_DISTRIBUTION_TICK_MS', 30_000);
  const digestEvery = Math.max(1, Math.round(msFromEnv('FLEETPANEL_CHILD_DIGEST_INTERVAL_MS', 15 * 60_000) / tickMs));
  let ticks = 0;
  runEvery('distribution maintenance', tickMs, async () => {
    await service.enqueueExpiredCleanups();
    await service.applyPendingRevocations();
    if (ticks++ % digestEvery === 0) await service.refreshChildDigests();
  }, deps.onClose);
  return service;
}
