/**
 * Where an account's workload goes: exactly one ready node with the role, by default the
 * parent's own node. Pure rules, no I/O.
 */
import { NodeUnavailableError, ValidationError } from '../core/errors.ts';
import type { Role } from '../protocol/roles.ts';
import type { Workload } from './account.model.ts';

export interface PlacementCandidate {
  id: number;
  alias: string;
  roles: readonly Role[];
  status: string;
  local: boolean;
}

const serves = (node: PlacementCandidate, workload: Workload): boolean => node.status === 'ready' && node.roles.includes(workload);

/**
 * `requested` is a node the caller named (a mail child, ready or adopted and waiting for its
 * accounts); otherwise the parent's own node wins,
 * and another ready node with the role only when the parent's own cannot serve it.
 */
export function chooseNode(workload: Workload, nodes: readonly PlacementCandidate[], requested?: PlacementCandidate): PlacementCandidate {
  if (requested) {
    if (!requested.roles.includes(workload)) throw new ValidationError(`${workload}Node`, `node '${requested.alias}' does not have the ${workload} role`);
    // An adopted node is brought up with the accounts placed on it while it waits (node reparent).
    if (requested.status !== 'ready' && requested.status !== 'adopting') throw new NodeUnavailableError({ message: `node '${requested.alias}' is not ready (${requested.status}); the ${workload} workload cannot be placed there now`, details: { node: requested.alias } });
    return requested;
  }
  const local = nodes.find((n) => n.local);
  if (local && serves(local, workload)) return local;
  const other = [...nodes].sort((a, b) => a.id - b.id).find((n) => serves(n, workload));
  if (other) return other;
  const why = local ? `the parent's own node '${local.alias}' is ${local.roles.includes(workload) ? local.status : `without the ${workload} role`}` : 'the parent has no node of its own linked';
  throw new NodeUnavailableError({ message: `no ready node has the ${workload} role (${why}); link or repair one before creating accounts`, details: { workload } });
}
