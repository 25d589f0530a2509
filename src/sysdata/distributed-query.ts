/**
 * A distributed query: one system-data change sent to every ready target node at once. It is
 * all or nothing on the ready nodes: when one of them fails, the change is undone wherever it
 * went in, and the parent keeps its old list. Nodes that were not ready are left out and
 * returned, so the caller records the change and registers a de-sync for each of them. Pure
 * logic: the I/O is the apply and undo functions the caller passes in.
 */
import { FleetError, kindOf, type ErrorKind } from '../core/errors.ts';
import { checkReadiness, type ReadinessPolicy } from './readiness.ts';
import type { SysdataNode } from './targets.ts';
import type { SystemDataItem, SystemDataType } from '../protocol/sysdata-items.ts';

export interface SystemDataChange<T extends SystemDataType> {
  /** The parent's list now; pushed back to undo. */
  before: readonly SystemDataItem<T>[];
  /** The list the change asks for. */
  after: readonly SystemDataItem<T>[];
}

export interface DistributedQuery<T extends SystemDataType, N extends SysdataNode> {
  type: T;
  change: SystemDataChange<T>;
  /** The nodes the type concerns (see targetsOf), ready or not. */
  targets: readonly N[];
  policy: ReadinessPolicy | number | undefined;
  apply(node: N, newList: readonly SystemDataItem<T>[]): Promise<void>;
  undo(node: N, oldList: readonly SystemDataItem<T>[]): Promise<void>;
}

export interface DistributedQueryResult<N extends SysdataNode> {
  applied: N[];
  /** Targets that were not ready: each needs a de-sync registered. */
  desynced: N[];
}

export interface NodeFailure {
  node: string;
  error: string;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The change failed on at least one node and was rolled back. `undoFailures` lists nodes whose
 * rollback failed too: they may hold the new list and need a de-sync registered.
 */
export class DistributedQueryError extends FleetError {
  constructor(
    readonly type: SystemDataType,
    readonly failures: readonly NodeFailure[],
    readonly undoFailures: readonly NodeFailure[],
    kind: ErrorKind,
  ) {
    const failed = failures.map((f) => `${f.node}: ${f.error}`).join('; ');
    const undo = undoFailures.length === 0 ? '' : `; undo also failed on ${undoFailures.map((f) => `${f.node} (${f.error})`).join(', ')}`;
    super(kind, `${type}: the change failed on ${failed}; it was undone on the nodes where it had been applied${undo}`, {
      type,
      failures,
      undoFailures,
    });
    this.name = 'DistributedQueryError';
  }
}

export async function runDistributedQuery<T extends SystemDataType, N extends SysdataNode>(query: DistributedQuery<T, N>): Promise<DistributedQueryResult<N>> {
  const { ready, notReady } = checkReadiness(query.type, query.targets, query.policy);

  const outcomes = await Promise.allSettled(ready.map((node) => query.apply(node, query.change.after)));
  const failures = outcomes.flatMap((outcome, i) => (outcome.status === 'rejected' ? [{ node: ready[i]!, reason: outcome.reason as unknown }] : []));
  if (failures.length === 0) return { applied: ready, desynced: notReady };

  // A failed node may have half applied (files written, reload failed), so it is undone as
  // well: pushing the old full list is idempotent, and harmless where nothing changed.
  const undoOutcomes = await Promise.allSettled(ready.map((node) => query.undo(node, query.change.before)));
  const undoFailures = undoOutcomes.flatMap((outcome, i) =>
    outcome.status === 'rejected' ? [{ node: ready[i]!.alias, error: describe(outcome.reason) }] : [],
  );
  const first = failures[0]!.reason;
  throw new DistributedQueryError(
    query.type,
    failures.map((f) => ({ node: f.node.alias, error: describe(f.reason) })),
    undoFailures,
    kindOf(first),
  );
}
