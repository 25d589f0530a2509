/**
 * The difference between the record sets PowerDNS holds and the ones wanted, as the PATCH body
 * of its HTTP API. Pure, so what a putZone will change can be tested without a server.
 */
import { isSupportedRecordType, toPowerDnsContent } from './zone-record.ts';
import { rrsetKey, type ZoneRecord } from '../protocol/zone-record.ts';
import { type RecordType } from '../protocol/record-grammar.ts';

/** A record set as the PowerDNS API reads and writes it (names end with a dot). */
export interface ApiRrset {
  name: string;
  type: string;
  ttl?: number;
  records?: { content: string; disabled: boolean }[];
  changetype?: 'REPLACE' | 'DELETE';
}

export interface DesiredRrset {
  name: string;
  type: RecordType;
  ttl: number;
  /** Sorted, in PowerDNS's presentation form. */
  contents: string[];
}

export const absoluteName = (name: string): string => `${name}.`;

export function groupIntoRrsets(records: ZoneRecord[]): DesiredRrset[] {
  const byKey = new Map<string, DesiredRrset>();
  for (const record of records) {
    const key = rrsetKey(record);
    const rrset = byKey.get(key) ?? { name: record.name, type: record.type, ttl: record.ttl, contents: [] };
    rrset.contents.push(toPowerDnsContent(record));
    byKey.set(key, rrset);
  }
  return [...byKey.values()].map((rrset) => ({ ...rrset, contents: [...rrset.contents].sort() }));
}

export function toApiRrset(rrset: DesiredRrset, changetype?: 'REPLACE'): ApiRrset {
  return {
    name: absoluteName(rrset.name),
    type: rrset.type,
    ttl: rrset.ttl,
    records: rrset.contents.map((content) => ({ content, disabled: false })),
    ...(changetype ? { changetype } : {}),
  };
}

/**
 * REPLACE for every wanted set that is missing or differs, DELETE for every set of a type we
 * manage that is no longer wanted. SOA, and types Fleetpanel does not manage (DNSSEC, PTR added
 * by hand), are left alone.
 */
export function planRrsetChanges(current: ApiRrset[], desired: DesiredRrset[]): ApiRrset[] {
  const currentByKey = new Map(current.map((rrset) => [`${rrset.name} ${rrset.type}`, rrset]));
  const wantedKeys = new Set<string>();
  const changes: ApiRrset[] = [];
  for (const rrset of desired) {
    const key = `${absoluteName(rrset.name)} ${rrset.type}`;
    wantedKeys.add(key);
    const existing = currentByKey.get(key);
    const existingContents = (existing?.records ?? []).map((r) => (r.disabled ? `disabled:${r.content}` : r.content)).sort();
    const same = existing !== undefined && existing.ttl === rrset.ttl && existingContents.join('\n') === rrset.contents.join('\n');
    if (!same) changes.push(toApiRrset(rrset, 'REPLACE'));
  }
  for (const rrset of current) {
    if (!isSupportedRecordType(rrset.type)) continue;
    if (!wantedKeys.has(`${rrset.name} ${rrset.type}`)) changes.push({ name: rrset.name, type: rrset.type, changetype: 'DELETE' });
  }
  return changes;
}
