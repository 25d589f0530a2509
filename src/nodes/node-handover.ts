/**
 * Handing a child from one parent to another without unlinking it. The old parent asks the child
 * for a handover token that names the new parent; the new parent links with it (`link` with
 * `adopt`), at which moment the child swaps the old parent's CA for the new one in one step and
 * refuses the old parent from then on. The new parent holds the node in `adopting` (no data is
 * pushed to it, its daemons keep serving what they hold) until `release` brings it up.
 */
import { ConflictError } from '../core/errors.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';
import type { NodeView } from './node.model.ts';
import { toNodeView, type NodeRow } from './nodes.repository.ts';
import type { NodesService } from './nodes.service.ts';
import type { NodeConnections } from './node-connections.ts';

/** Who a node is handed to, as that parent's identity route tells it. */
export interface NewParent {
  parentId: string;
  name: string;
}

/** How long a handover token stays valid if the new parent never uses it. */
const HANDOVER_MINUTES = 60;

export class NodeHandover {
  constructor(
    private readonly nodes: NodesService,
    private readonly connections: NodeConnections,
  ) {}

  /** Old parent: a token with which only `to` can link the node in this parent's place. */
  async issue(alias: string, to: NewParent): Promise<{ token: string; node: NodeRow }> {
    const node = await this.nodes.row(alias);
    if (node.is_local === 1) throw new ConflictError("the parent's own node cannot be handed to another parent");
    if (to.parentId === (await this.nodes.parentId)) throw new ConflictError('the node is already linked to this parent');
    const { token } = await this.connections.forRow(node).send(AGENT_ROUTES.handover, { body: { newParentId: to.parentId, newParentName: to.name, expiresInMinutes: HANDOVER_MINUTES } });
    return { token, node };
  }

  /** Old parent: the node took another parent; it stays listed (no health checks) until forgotten. */
  async markHandedOver(node: NodeRow, to: string): Promise<void> {
    if (node.status !== 'unlinking') await this.nodes.setStatus(node, 'unlinking', `handed over to ${to}`);
  }

  /** New parent: an adopted node is brought up, receiving every workload this parent now holds for it. */
  async release(alias: string): Promise<NodeView> {
    const node = await this.nodes.row(alias);
    if (node.status === 'adopting') {
      await this.nodes.setStatus(node, 'assigning_roles', 'adoption finished; bringing it up with its accounts');
      void this.nodes.advance(node.id);
    }
    return toNodeView(await this.nodes.row(alias));
  }
}
