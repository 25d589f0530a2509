/**
 * How re-parenting plugs into the parent: the `node.reparent` job and its route. Built after the
 * job engine, the accounts, mail, web and transfers, whose services and records it uses (the
 * transfers' move of databases included).
 */
import type { Store } from '../store/database.ts';
import type { JobEngine } from '../jobs/job-engine.ts';
import { ACTIVE_JOB_STATES } from '../jobs/job.model.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import type { NodeHandover } from '../nodes/node-handover.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { MailStatePusher } from '../mail/mail-state-pusher.ts';
import type { WebService } from '../web/web.service.ts';
import type { DistributionService } from '../distribution/distribution.service.ts';
import type { TransferService } from '../transfers/transfer.service.ts';
import type { DatabaseMoves } from '../transfers/database-moves.ts';
import { AccountsRepository } from '../accounts/accounts.repository.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import { MailRepository } from '../mail/mail.repository.ts';
import { TransfersRepository } from '../transfers/transfers.repository.ts';
import { Reparenting, type LingeringRelay, type ReparentCredentials } from './reparenting.ts';
import { reparentJob } from './reparent.job.ts';
import { reparentViaDedistributionJob } from './reparent-via-dedistribution.job.ts';
import { ReparentService } from './reparent.service.ts';

export { registerReparentRoutes } from './reparent.routes.ts';

export interface ReparentDeps {
  db: Store;
  jobs: JobEngine;
  nodes: NodesService;
  handover: NodeHandover;
  accounts: Pick<AccountsService, 'terminate'>;
  mailStates: Pick<MailStatePusher, 'pushNode' | 'addStateContributor'>;
  web: Pick<WebService, 'pushNode'>;
  /** `--via-dedistribution` chains their jobs: mail back and out again, the account's transfer */
  distribution: Pick<DistributionService, 'changeMailNode' | 'accountsOnNode' | 'cleanupChildCopy'>;
  transfers: Pick<TransferService, 'start'>;
  /** the account transfer's move of databases: the handover route moves each account's databases with it */
  databases: DatabaseMoves;
}

const ADMIN = { username: 'admin', role: 'admin' as const };

export function buildReparent(deps: ReparentDeps): ReparentService {
  const { jobs, nodes } = deps;
  const nodesRepo = new NodesRepository(deps.db);
  const accountsRepo = new AccountsRepository(deps.db);
  const mailRepo = new MailRepository(deps.db);
  const transfersRepo = new TransfersRepository(deps.db);
  // The new parent's token waits in the settings table, beside the node, until the job ends.
  const credentials: ReparentCredentials = {
    async get(nodeId) {
      const text = await nodesRepo.getSetting(`reparent:${nodeId}`);
      return text ? (JSON.parse(text) as { url: string; token: string }) : undefined;
    },
    set: (nodeId, value) => nodesRepo.setSetting(`reparent:${nodeId}`, JSON.stringify(value)),
    remove: (nodeId) => nodesRepo.setSetting(`reparent:${nodeId}`, ''),
  };
  const activeJob = async (key: string) => (await jobs.list({ key })).find((j) => ACTIVE_JOB_STATES.includes(j.state));
  const reparenting = new Reparenting({
    parentId: nodes.parentId,
    parentName: nodes.parentName,
    handover: deps.handover,
    credentials,
    nodeById: (id) => nodesRepo.byId(id),
    localNode: async () => (await nodesRepo.list()).find((n) => n.is_local === 1),
    usersOf: (node) => nodes.usersOf(node),
    busy: (username) => activeJob(`account:${username}`),
    databases: deps.databases,
    installedBySsh: async (node) => (await nodes.knownHostKey(node.alias)) !== undefined,
    accountByName: (username) => accountsRepo.byUsername(username),
    bundleOf: (account) => transfersRepo.bundleOf(account.id, nodes.parentName),
    placements: (accountId) => accountsRepo.placements(accountId),
    removePlacement: (accountId, workload) => accountsRepo.removePlacement(accountId, workload),
    removeAccountMail: (accountId) => mailRepo.removeAccountMail(accountId),
    terminate: async (username) => {
      await deps.accounts.terminate(ADMIN, username);
    },
    pushNode: async (node) => {
      if (node.roles.includes('mail')) await deps.mailStates.pushNode(node);
      if (node.roles.includes('web')) await deps.web.pushNode(node);
    },
    removeNode: (node) => nodes.removeRow(node),
    relays: {
      list: async () => JSON.parse((await nodesRepo.getSetting('reparent:relays')) || '[]') as LingeringRelay[],
      save: (relays) => nodesRepo.setSetting('reparent:relays', JSON.stringify(relays)),
    },
  });
  deps.mailStates.addStateContributor((node, state) => reparenting.addRelays(node, state));
  jobs.register(reparentJob(reparenting));
  // The link token the child issues at its unlink waits here until the new parent has linked it.
  const linkTokens = {
    get: async (nodeId: number) => (await nodesRepo.getSetting(`reparent-link:${nodeId}`)) || undefined,
    set: (nodeId: number, token: string) => nodesRepo.setSetting(`reparent-link:${nodeId}`, token),
    remove: (nodeId: number) => nodesRepo.setSetting(`reparent-link:${nodeId}`, ''),
  };
  jobs.register(
    reparentViaDedistributionJob(reparenting, {
      distribution: deps.distribution,
      transfers: deps.transfers,
      jobs: { waitFor: (id, timeoutMs) => jobs.waitFor(id, timeoutMs), active: activeJob },
      unlink: async (alias) => {
        const { token } = await nodes.unlink(alias, 'expire-24h');
        if (!token) throw new Error(`node '${alias}' issued no link token at its unlink`);
        return token;
      },
      linkTokens,
    }),
  );
  return new ReparentService(nodes, jobs, credentials, reparenting);
}
