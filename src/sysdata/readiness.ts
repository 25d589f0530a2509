/**
 * Whether a system-data change may run now. The share of the type's target nodes that are ready
 * must exceed the type's policy value (percent); the nodes that are not ready are skipped and
 * brought in line later by their synchronizer. Pure.
 */
import { ConflictError, ValidationError } from '../core/errors.ts';
import { isReady, type SysdataNode } from './targets.ts';
import type { SystemDataType } from '../protocol/sysdata-items.ts';

export const DEFAULT_READINESS_PERCENT = 50;

/** Percent per type; a type left out uses DEFAULT_READINESS_PERCENT. */
export type ReadinessPolicy = Partial<Record<SystemDataType, number>>;

/**
 * 0 to 99: the share must exceed the value, so 100 could never be met and would silently block
 * every change of the type.
 */
export function validateReadinessPercent(value: unknown, field = 'policy'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 99) {
    throw new ValidationError(field, 'must be a whole percentage from 0 to 99 (the share of ready nodes must exceed it)');
  }
  return value;
}

export function policyPercent(policy: ReadinessPolicy | number | undefined, type: SystemDataType): number {
  if (typeof policy === 'number') return policy;
  return policy?.[type] ?? DEFAULT_READINESS_PERCENT;
}

export interface ReadinessDecision<N extends SysdataNode> {
  ready: N[];
  notReady: N[];
  readyPercent: number;
}

/** Splits the targets into ready and not ready, or throws ConflictError naming the nodes that hold the change up. */
export function checkReadiness<N extends SysdataNode>(type: SystemDataType, targets: readonly N[], policy: ReadinessPolicy | number | undefined): ReadinessDecision<N> {
  const required = policyPercent(policy, type);
  const ready = targets.filter(isReady);
  const notReady = targets.filter((node) => !isReady(node));
  // No target at all (no mail node yet) is not a reason to refuse: there is nothing to diverge.
  const readyPercent = targets.length === 0 ? 100 : (ready.length * 100) / targets.length;
  if (targets.length > 0 && !(readyPercent > required)) {
    const names = notReady.map((n) => `${n.alias} (${n.status})`).join(', ');
    throw new ConflictError(
      `${type}: only ${ready.length} of ${targets.length} target nodes are ready (${readyPercent.toFixed(0)}%), the policy requires more than ${required}%; not ready: ${names}`,
      { type, required, readyPercent, notReady: notReady.map((n) => n.alias) },
    );
  }
  return { ready, notReady, readyPercent };
}
