/**
 * How the web workload plugs into the parent: the web service joins the account workloads and a
 * joining or returning node gets its sites as a data-sync step; its routes set a site's options. Other domains add proxied host
 * names with `addProxyProvider` (webmail does).
 */
import type { Store } from '../store/database.ts';
import type { WorkloadRegistry } from '../accounts/workload.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { WebRepository } from './web.repository.ts';
import { WEB_SYNC_PRIORITY, WebService, webAgentsOver } from './web.service.ts';

export { registerWebRoutes } from './web.routes.ts';

export interface WebDeps {
  db: Store;
  workloads: WorkloadRegistry;
  nodes: Pick<NodesService, 'addDataSyncStep'>;
  connections: NodeConnections;
}

export function buildWeb(deps: WebDeps): WebService {
  const web = new WebService(new WebRepository(deps.db), webAgentsOver(deps.connections));
  deps.workloads.register(web);
  deps.nodes.addDataSyncStep({ name: 'web', priority: WEB_SYNC_PRIORITY, sync: (node) => web.syncNode(node) });
  return web;
}
