/**
 * The one fingerprint of a system-data list, computed the same way on the parent (from its
 * store) and on a node (from what its driver reads back), so comparing two digests tells whether
 * a node is in sync. Items are sorted by id because the lists are sets: every driver renders in
 * an order that does not depend on the order it was given.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted and undefined fields left out, so equal data gives equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function sortById<T extends { id: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** sha256 (hex) of the canonical JSON of the list sorted by id. */
export function digest<T extends { id: string }>(items: readonly T[]): string {
  return createHash('sha256').update(canonicalJson(sortById(items))).digest('hex');
}
