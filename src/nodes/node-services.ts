/**
 * The admin's control of the daemons on a node (`node service list|start|stop|restart`): the
 * parent asks the node's agent, whose watchdog owns the daemons, and re-checks the node at once
 * so its status (ready or degraded) follows the action without waiting for the next health check.
 */
import { NotFoundError } from '../core/errors.ts';
import type { ServiceView } from './node.model.ts';
import type { NodesService } from './nodes.service.ts';
import type { NodeConnections } from './node-connections.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';

export const SERVICE_ACTIONS = ['start', 'stop', 'restart'] as const;
export type ServiceAction = (typeof SERVICE_ACTIONS)[number];

export class NodeServiceControl {
  constructor(
    private readonly nodes: NodesService,
    private readonly connections: NodeConnections,
  ) {}

  async list(alias: string): Promise<{ node: string; services: ServiceView[] }> {
    const row = await this.nodes.row(alias);
    const { services } = await this.connections.forRow(row).send(AGENT_ROUTES.services);
    return { node: row.alias, services };
  }

  /** One service, or every service of the node when none is named (in the agent's start order). */
  async act(alias: string, action: ServiceAction, service?: string): Promise<{ node: string; action: ServiceAction; services: ServiceView[] }> {
    const row = await this.nodes.row(alias);
    const client = this.connections.forRow(row);
    const { services: present } = await client.send(AGENT_ROUTES.services);
    if (service !== undefined && !present.some((s) => s.name === service)) {
      throw new NotFoundError('service', `${alias}/${service}`);
    }
    // Stopping everything goes in reverse start order, so nothing is left delivering to a daemon already gone.
    const names = service !== undefined ? [service] : present.map((s) => s.name);
    if (action === 'stop') names.reverse();
    const results: ServiceView[] = [];
    try {
      for (const name of names) results.push(await client.send(AGENT_ROUTES.serviceAction, { params: { name, action } }));
    } finally {
      await this.nodes.checkNow(alias).catch(() => undefined);
    }
    return { node: row.alias, action, services: results };
  }
}
