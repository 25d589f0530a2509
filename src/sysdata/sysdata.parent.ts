/**
 * Wires system data into the parent: the service on the context, its synchronizers as a
 * data-sync step (a joining or returning node gets every list before it is ready), and the
 * periodic digest check (FLEETPANEL_SYSDATA_CHECK_INTERVAL_MS, 60 s by default).
 */
import type { ParentContext } from '../parent/parent-context.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { FleetError } from '../core/errors.ts';
import { SysdataRepository } from './sysdata.repository.ts';
import { DEFAULT_SYSDATA_CHECK_INTERVAL_MS, SysdataService, type SysdataAgents } from './sysdata.service.ts';
import type { SysdataListResponse } from './sysdata.agent-module.ts';

declare module '../parent/parent-context.ts' {
  interface ParentContext {
    sysdata?: SysdataService;
  }
}

/** Runs before workload data: the firewall decides what can reach the node at all. */
export const SYSDATA_SYNC_PRIORITY = 10;

const DIGEST_TIMEOUT_MS = 10_000;

export function agentsOverMtls(connections: NodeConnections): SysdataAgents {
  return {
    async apply(node, type, items) {
      await connections.forRow(node).call('PUT', `/v1/sysdata/${type}`, { items });
    },
    async digest(node, type) {
      const response = await connections.forRow(node).call<SysdataListResponse>('GET', `/v1/sysdata/${type}`, undefined, DIGEST_TIMEOUT_MS);
      return response.digest;
    },
  };
}

export function checkIntervalFromEnvironment(): number {
  const text = process.env.FLEETPANEL_SYSDATA_CHECK_INTERVAL_MS;
  if (text === undefined || text === '') return DEFAULT_SYSDATA_CHECK_INTERVAL_MS;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 100) throw new Error(`FLEETPANEL_SYSDATA_CHECK_INTERVAL_MS must be a whole number of milliseconds, at least 100 (got '${text}')`);
  return value;
}

export function attachSysdata(ctx: ParentContext): void {
  const nodesRepo = new NodesRepository(ctx.db);
  const service = new SysdataService({
    repo: new SysdataRepository(ctx.db),
    nodeRows: () => nodesRepo.list(),
    agents: agentsOverMtls(ctx.connections),
    log: (message, fields) => console.log(JSON.stringify({ at: new Date().toISOString(), message, ...fields })),
  });
  ctx.sysdata = service;
  ctx.nodes.addDataSyncStep({ name: 'sysdata', priority: SYSDATA_SYNC_PRIORITY, sync: (row) => service.syncJoiningNode(row) });
  service.startPeriodicCheck(checkIntervalFromEnvironment());
  ctx.onClose.push(() => service.stop());
}

export function sysdataOf(ctx: ParentContext): SysdataService {
  if (!ctx.sysdata) throw new FleetError('internal', 'the system-data service is not attached to this parent');
  return ctx.sysdata;
}
