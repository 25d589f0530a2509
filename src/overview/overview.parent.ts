/** How the dashboard's overview plugs into the parent: read-only, over the services that hold its parts. */
import type { NodesService } from '../nodes/nodes.service.ts';
import type { JobEngine } from '../jobs/index.ts';
import type { SysdataService } from '../sysdata/sysdata.service.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import { OverviewService } from './overview.service.ts';

export { registerOverviewRoutes } from './overview.routes.ts';

export function buildOverview(deps: { nodes: NodesService; jobs: JobEngine; sysdata: SysdataService; accounts: AccountsService }): OverviewService {
  const { nodes, jobs, sysdata, accounts } = deps;
  return new OverviewService({
    nodes: () => nodes.list(),
    recentJobs: (limit) => jobs.list({ limit }),
    sysdataStatus: () => sysdata.status(),
    accounts: () => accounts.list({ username: 'admin', role: 'admin' }),
  });
}
