/**
 * How certificates plug into the parent: the issuing job, the challenge records merged into the
 * account's zone, the placement of each serving certificate on the nodes that answer TLS for its
 * names (and a data-sync step for joining nodes), the renewal loop, and the routes. Built after
 * the job engine and DNS.
 */
import type { Store } from '../store/database.ts';
import type { JobEngine } from '../jobs/job-engine.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { DnsService } from '../dns/dns.service.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { msFromEnv } from '../core/env-numbers.ts';
import { runEvery } from '../core/periodic.ts';
import { ConflictError } from '../core/errors.ts';
import { AccountsRepository } from '../accounts/accounts.repository.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import { CertificatesRepository } from './certificates.repository.ts';
import { CertificatesService } from './certificates.service.ts';
import { CertificatePlacement, certificateAgentsOver } from './certificate-placement.ts';
import { ISSUE_CERTIFICATE_JOB, issueCertificateJob, type CertificateTarget } from './issue-certificate.job.ts';
import { PanelCertificateRepository } from './panel-certificate.repository.ts';
import { PanelCertificate } from './panel-certificate.ts';

export { registerCertificateRoutes } from './certificates.routes.ts';

/** Before mail and web (40, 50): the daemons of a returning node find their certificates in place. */
export const CERTIFICATES_SYNC_PRIORITY = 35;

export interface CertificatesDeps {
  db: Store;
  dataDir: string;
  /** the ACME directory when none is stored; null: no orders until the admin sets one */
  defaultDirectoryUrl: string | null;
  jobs: JobEngine;
  accounts: AccountsService;
  dns: Pick<DnsService, 'refreshZone' | 'addRecordContributor'>;
  nodes: Pick<NodesService, 'addDataSyncStep'>;
  connections: NodeConnections;
  onClose: (close: () => Promise<void> | void) => void;
  /** the parent's own host name when it serves HTTPS (`parent --hostname`), else null */
  panelHostname: string | null;
}

export interface BuiltCertificates {
  certificates: CertificatesService;
  /** puts an account's certificate on its nodes now, or takes it off them (an account arriving from or leaving for another pair) */
  placement: Pick<CertificatePlacement, 'deploy' | 'removeAccount'>;
  /** the parent's own HTTPS certificate, when it has a host name */
  panel: PanelCertificate | null;
}

export function buildCertificates(deps: CertificatesDeps): BuiltCertificates {
  const repo = new CertificatesRepository(deps.db);
  const accountsRepo = new AccountsRepository(deps.db);
  const nodesRepo = new NodesRepository(deps.db);
  const now = (): number => Date.now();
  const log = (message: string): void => void process.stderr.write(`certificates: ${message}\n`);
  const service = new CertificatesService({ repo, accounts: deps.accounts, jobs: deps.jobs, nodes: nodesRepo, dataDir: deps.dataDir, now, defaultDirectoryUrl: deps.defaultDirectoryUrl });
  const placement = new CertificatePlacement({ repo, nodes: nodesRepo, agents: certificateAgentsOver(deps.connections), log });
  const retryBaseMs = msFromEnv('FLEETPANEL_ACME_RETRY_BASE_MS', 5 * 60_000);
  // 1, 2, 4, … times the base, at most a day.
  const retryAt = (failures: number): number => now() + Math.min(retryBaseMs * 2 ** Math.min(failures - 1, 16), 24 * 3600_000);
  const panel =
    deps.panelHostname === null
      ? null
      : new PanelCertificate({
          hostname: deps.panelHostname,
          repo: new PanelCertificateRepository(deps.db),
          accounts: { list: () => accountsRepo.list() },
          // Keyed by the zone's account: its own orders and the panel's never write its challenge records at once.
          enqueue: (data, by) => deps.jobs.enqueue({ type: ISSUE_CERTIFICATE_JOB, key: `certificate:${data.account}`, data, ifBusy: 'refuse', createdBy: by }),
          ordersOn: async () => (await service.acmeSettings()) !== null,
          retryAt,
          now,
        });
  const accountTarget = (account: { id: number }): CertificateTarget => ({
    current: () => repo.byAccount(account.id),
    setPendingKey: (keyPem, at) => repo.setPendingKey(account.id, keyPem, at),
    saveServing: (issued, at) => repo.saveServing({ accountId: account.id, kind: 'issued', ...issued }, at),
    recordFailure: (error, at, when) => repo.recordFailure(account.id, error, at, when),
    deploy: () => placement.deploy(account.id),
  });

  deps.dns.addRecordContributor(async (account) =>
    (await repo.challenges(account.id)).map((c) => ({ name: c.recordName, type: 'TXT' as const, ttl: 60, content: c.value })),
  );
  // Before the placements go: the nodes that served the account's names are found through them.
  deps.accounts.addTerminationStep((account) => placement.removeAccount(account.id, account.domain));
  deps.nodes.addDataSyncStep({ name: 'certificates', priority: CERTIFICATES_SYNC_PRIORITY, sync: (node) => placement.syncNode(node) });
  deps.jobs.register(
    issueCertificateJob({
      repo,
      issuer: () => service.issuer(),
      account: (username) => accountsRepo.byUsername(username),
      dnsAddress: async (account) => (await deps.accounts.nodeOf(account, 'dns')).host,
      refreshZone: async (account) => {
        await deps.dns.refreshZone(account);
      },
      target: (data, account) => {
        if (!data.panel) return accountTarget(account);
        if (!panel) throw new ConflictError('this order is for the panel certificate, and the parent now runs without --hostname');
        return panel.target();
      },
      retryAt,
      now,
      propagationTimeoutMs: msFromEnv('FLEETPANEL_ACME_PROPAGATION_TIMEOUT_MS', 60_000),
    }),
  );

  // The renewal loop: placeholders for new accounts, orders for due certificates, and every
  // certificate kept on the nodes that serve its names (it follows a mail move within one pass).
  const tickMs = msFromEnv('FLEETPANEL_CERTIFICATE_TICK_MS', 10_000);
  const expiryEvery = Math.max(1, Math.round(60_000 / tickMs));
  let ticks = 0;
  runEvery('certificate renewal', tickMs, async () => {
    await service.tick();
    await panel?.tick();
    await placement.reconcile();
    if (ticks++ % expiryEvery === 0) await service.reportExpiries((await panel?.health()) ?? []);
  }, deps.onClose);
  return { certificates: service, panel, placement };
}
