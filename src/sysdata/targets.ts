/**
 * Which nodes a system-data type concerns. Firewall and scheduler exist on every node; the mail
 * whitelist and blacklist only where Postfix runs, i.e. on nodes with an active mail role. Pure.
 */
import type { SystemDataType } from '../protocol/sysdata-items.ts';

export interface NodeRoleAssignment {
  name: string;
  /** False while the role is being installed or after it was switched off. */
  active: boolean;
}

/** The little the system-data logic needs to know about a node. */
export interface SysdataNode {
  id: string;
  alias: string;
  /** The node's status; only 'ready' nodes take part in a distributed query. */
  status: string;
  roles: readonly NodeRoleAssignment[];
}

export const READY_STATUS = 'ready';

export function isReady(node: SysdataNode): boolean {
  return node.status === READY_STATUS;
}

export function hasActiveRole(node: SysdataNode, role: string): boolean {
  return node.roles.some((r) => r.name === role && r.active);
}

export function concernsNode(type: SystemDataType, node: SysdataNode): boolean {
  switch (type) {
    case 'firewall':
    case 'scheduler':
      return true;
    case 'whitelist':
    case 'blacklist':
      return hasActiveRole(node, 'mail');
  }
}

export function targetsOf<N extends SysdataNode>(type: SystemDataType, nodes: readonly N[]): N[] {
  return nodes.filter((node) => concernsNode(type, node));
}
