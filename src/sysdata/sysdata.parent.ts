/**
 * How system data plugs into the parent: the service, its synchronizers as a data-sync step (a
 * joining or returning node gets every list before it is ready), the periodic digest check
 * (FLEETPANEL_SYSDATA_CHECK_INTERVAL_MS, 60 s by default) and the admin routes.
 */
import { msFromEnv } from '../core/env-numbers.ts';
import type { Store } from '../store/database.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { SysdataRepository } from './sysdata.repository.ts';
import { DEFAULT_SYSDATA_CHECK_INTERVAL_MS, SysdataService, type SysdataAgents } from './sysdata.service.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';

export { registerSysdataRoutes } from './sysdata.routes.ts';

/** Runs before workload data: the firewall decides what can reach the node at all. */
export const SYSDATA_SYNC_PRIORITY = 10;

const DIGEST_TIMEOUT_MS = 10_000;

function agentsOverMtls(connections: NodeConnections): SysdataAgents {
  return {
    async apply(node, type, items) {
      await connections.forRow(node).send(AGENT_ROUTES.putSysdataList, { params: { type }, body: { items: [...items] } });
    },
    async digest(node, type) {
      const response = await connections.forRow(node).send(AGENT_ROUTES.sysdataList, { params: { type } }, DIGEST_TIMEOUT_MS);
      return response.digest;
    },
  };
}

export interface SysdataDeps {
  db: Store;
  nodes: Pick<NodesService, 'addDataSyncStep'>;
  connections: NodeConnections;
  onClose: (close: () => Promise<void> | void) => void;
}

export function buildSysdata(deps: SysdataDeps): SysdataService {
  const nodesRepo = new NodesRepository(deps.db);
  const service = new SysdataService({
    repo: new SysdataRepository(deps.db),
    nodeRows: () => nodesRepo.list(),
    agents: agentsOverMtls(deps.connections),
    log: (message, fields) => console.log(JSON.stringify({ at: new Date().toISOString(), message, ...fields })),
  });
  deps.nodes.addDataSyncStep({ name: 'sysdata', priority: SYSDATA_SYNC_PRIORITY, sync: (row) => service.syncJoiningNode(row) });
  service.startPeriodicCheck(msFromEnv('FLEETPANEL_SYSDATA_CHECK_INTERVAL_MS', DEFAULT_SYSDATA_CHECK_INTERVAL_MS));
  deps.onClose(() => service.stop());
  return service;
}
