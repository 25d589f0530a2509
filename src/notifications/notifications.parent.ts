/**
 * How notifications plug into the parent: the service reads the jobs and system-data de-syncs it
 * watches through the other domains' services, and hears the nodes service after every health
 * check. FLEETPANEL_NOTIFY_POLL_MS (30 s), FLEETPANEL_DESYNC_ALERT_AGE_MS (one hour) and
 * FLEETPANEL_CERT_WARNING_DAYS (14) tune it.
 */
import { msFromEnv, wholeNumberFromEnv } from '../core/env-numbers.ts';
import type { Store } from '../store/database.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import type { JobEngine } from '../jobs/job-engine.ts';
import type { SysdataService } from '../sysdata/sysdata.service.ts';
import { HealingRepository } from './notifications.repository.ts';
import { NotificationsService, type NotificationSources } from './notifications.service.ts';

export { registerNotificationRoutes } from './notifications.routes.ts';

export interface NotificationsDeps {
  db: Store;
  nodes: NodesService;
  jobs: JobEngine;
  sysdata: SysdataService;
  parentName: string;
  onClose: (close: () => Promise<void> | void) => void;
}

/** What the pollers read, from the jobs, the system data and the nodes the parent built. */
export function notificationSources({ jobs, sysdata, nodes }: { jobs: Pick<JobEngine, 'list'>; sysdata: Pick<SysdataService, 'status'>; nodes: Pick<NodesService, 'list'> }): NotificationSources {
  return {
    async stoppedJobs() {
      const stopped = [...(await jobs.list({ state: 'held', limit: 500 })), ...(await jobs.list({ state: 'failed', limit: 500 }))];
      return stopped.map((job) => ({ id: job.id, type: job.type, key: job.key, state: job.state, error: job.error }));
    },
    async desyncs() {
      return (await sysdata.status()).flatMap((type) => type.nodes.filter((n) => !n.inSync && n.since !== null).map((n) => ({ node: n.node, type: type.type, since: n.since!, reason: n.reason })));
    },
    async smtpHost() {
      return (await nodes.list()).find((node) => node.local)?.host ?? null;
    },
  };
}

export function buildNotifications(deps: NotificationsDeps): NotificationsService {
  const { nodes, jobs, sysdata } = deps;
  const service = new NotificationsService(
    new HealingRepository(deps.db),
    notificationSources({ jobs, sysdata, nodes }),
    {
      parentName: deps.parentName,
      pollIntervalMs: msFromEnv('FLEETPANEL_NOTIFY_POLL_MS', 30_000),
      desyncAgeMs: msFromEnv('FLEETPANEL_DESYNC_ALERT_AGE_MS', 3600_000),
      certificateWarningMs: (wholeNumberFromEnv('FLEETPANEL_CERT_WARNING_DAYS', { unit: 'days' }) ?? 14) * 86_400_000,
      log: (message, fields) => console.log(JSON.stringify({ at: new Date().toISOString(), message, ...fields })),
    },
  );
  nodes.addObserver((node, services) => service.nodeChecked(node, services));
  service.start();
  deps.onClose(() => service.stop());
  return service;
}
