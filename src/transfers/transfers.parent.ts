/**
 * How account transfers plug into the parent: the source side (the `account.transfer` job and the
 * relay of an outgoing account's mail), the import side (another parent sends an account here)
 * with its routes, and the hold of an importing account's deliveries in the mail states.
 * Built after accounts, mail, web and DNS, whose workloads an import sets up; the web service
 * forwards an outgoing account's site to the target's web node.
 */
import type { Store } from '../store/database.ts';
import type { JobEngine } from '../jobs/job-engine.ts';
import { AccountsRepository } from '../accounts/accounts.repository.ts';
import type { WorkloadRegistry } from '../accounts/workload.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import type { MailStatePusher } from '../mail/mail-state-pusher.ts';
import type { WebService } from '../web/web.service.ts';
import { mailAgentsOver } from '../mail/mail-agents.ts';
import { TransfersRepository } from './transfers.repository.ts';
import { TransferImportService, type ImportedCertificates } from './transfer-import.service.ts';
import { TransferService } from './transfer.service.ts';
import { AccountTransfer, transferAccountJob } from './transfer-account.job.ts';
import type { DatabaseMoves } from './database-moves.ts';

export { registerTransferRoutes } from './transfers.routes.ts';

export interface TransfersDeps {
  db: Store;
  parentName: string;
  accounts: AccountsService;
  workloads: WorkloadRegistry;
  mailStates: MailStatePusher;
  web: Pick<WebService, 'addSiteForwardProvider' | 'pushNode'>;
  connections: NodeConnections;
  jobs: JobEngine;
  /** the certificates domain's placement: an imported certificate serves at once */
  certificates: ImportedCertificates;
}

export interface TransferServices {
  imports: TransferImportService;
  transfers: TransferService;
  /** how an account's databases move to another parent (the re-parent of a child uses it too) */
  databases: DatabaseMoves;
}

export function buildTransfers(deps: TransfersDeps): TransferServices {
  const repo = new TransfersRepository(deps.db);
  const imports = new TransferImportService({
    parentName: deps.parentName,
    repo,
    accounts: deps.accounts,
    nodes: new NodesRepository(deps.db),
    workloads: deps.workloads,
    mailStates: deps.mailStates,
    mailAgents: mailAgentsOver(deps.connections),
    connections: deps.connections,
    certificates: deps.certificates,
  });
  const accountsRepo = new AccountsRepository(deps.db);
  const accountByName = (username: string) => accountsRepo.byUsername(username);
  const mailAgents = mailAgentsOver(deps.connections);
  const accountTransfer = new AccountTransfer({ repo, accounts: deps.accounts, accountByName, mailStates: deps.mailStates, mailAgents, web: deps.web, connections: deps.connections, nodes: new NodesRepository(deps.db) });
  deps.jobs.register(transferAccountJob(accountTransfer));
  const transfers = new TransferService(deps.db, repo, deps.jobs, deps.parentName, accountByName, deps.mailStates, deps.web);
  return { imports, transfers, databases: accountTransfer.databases };
}
