/**
 * DNS records of one zone as parent and agent exchange them, checked strictly per type before they
 * reach PowerDNS. Names are absolute without the trailing dot (`www.example.com`), or `@` for the
 * zone apex.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ValidationError } from '../core/errors.ts';
import { assertValid, checkDomain } from '../core/grammar.ts';
import { CONTENT_CHECKERS, MAX_TTL, MIN_TTL, RECORD_TYPES, type RecordType } from './record-grammar.ts';
import { checkSchema } from './schema-check.ts';

export const ZoneRecordSchema = Type.Object({
  /** FQDN without the trailing dot, or '@' for the zone itself. */
  name: Type.String({ format: 'fp-record-name' }),
  type: Type.Union(RECORD_TYPES.map((t) => Type.Literal(t)), { reason: `must be one of ${RECORD_TYPES.join(', ')}` }),
  ttl: Type.Integer({ minimum: MIN_TTL, maximum: MAX_TTL, reason: `must be a whole number of seconds from ${MIN_TTL} to ${MAX_TTL}` }),
  /**
   * A/AAAA: address; MX: `<priority> <host>`; CNAME/NS: host; TXT: the text itself, unquoted;
   * SRV: `<priority> <weight> <port> <host>`; CAA: `<flags> <tag> "<value>"`. Its grammar depends
   * on the type, so it is checked by validateZoneRecord.
   */
  content: Type.String(),
});

export interface ZoneRecord {
  name: string;
  type: RecordType;
  ttl: number;
  content: string;
}

/** PUT /v1/dns/zones/:domain: every record of the zone but its SOA. */
export const ZoneRecordsRequest = Type.Object({ records: Type.Array(ZoneRecordSchema, { maxItems: 10_000 }) });
export type ZoneRecordsRequest = Static<typeof ZoneRecordsRequest>;

/** Checks one untrusted record of `zone`; returns it with '@' resolved to the zone name. */
export function validateZoneRecord(zone: string, input: unknown, field = 'record'): ZoneRecord {
  const raw = checkSchema(ZoneRecordSchema, input, { at: field });
  const name = raw.name === '@' ? zone : raw.name;
  if (name !== zone && !name.endsWith(`.${zone}`)) throw new ValidationError(`${field}.name`, `must be ${zone} or a name inside it`);
  const type = raw.type;
  const content = assertValid(`${field}.content`, raw.content, CONTENT_CHECKERS[type]);
  if (type === 'SRV' && !/^_[a-z0-9-]+\._(tcp|udp|tls)\./.test(name)) {
    throw new ValidationError(`${field}.name`, 'an SRV name must start with _<service>._<tcp|udp|tls>.');
  }
  if (type === 'CNAME' && name === zone) throw new ValidationError(`${field}.type`, 'the zone apex cannot be a CNAME (it holds SOA and NS)');
  if (name.startsWith('*.') && type === 'NS') throw new ValidationError(`${field}.name`, 'a wildcard cannot hold NS records');
  return { name, type, ttl: raw.ttl, content };
}

/** The key of the record set a record belongs to. */
export const rrsetKey = (record: Pick<ZoneRecord, 'name' | 'type'>): string => `${record.name} ${record.type}`;

/**
 * Checks all records of a zone: each one on its own, then the rules that only a set can break
 * (CNAME next to other data, duplicates, two TTLs in one record set).
 */
export function validateZoneRecords(zone: string, input: unknown): ZoneRecord[] {
  assertValid('zone', zone, checkDomain);
  if (!Array.isArray(input)) throw new ValidationError('records', 'must be an array');
  const records = input.map((raw, index) => validateZoneRecord(zone, raw, `records[${index}]`));
  const seen = new Set<string>();
  const ttlOfRrset = new Map<string, number>();
  const typesAtName = new Map<string, Set<RecordType>>();
  records.forEach((record, index) => {
    const field = `records[${index}]`;
    const identity = `${rrsetKey(record)} ${record.content}`;
    if (seen.has(identity)) throw new ValidationError(field, `duplicates an earlier ${record.type} record of ${record.name}`);
    seen.add(identity);
    const ttl = ttlOfRrset.get(rrsetKey(record));
    if (ttl !== undefined && ttl !== record.ttl) throw new ValidationError(`${field}.ttl`, `all ${record.type} records of ${record.name} must share one TTL (${ttl})`);
    ttlOfRrset.set(rrsetKey(record), record.ttl);
    const types = typesAtName.get(record.name) ?? new Set<RecordType>();
    types.add(record.type);
    typesAtName.set(record.name, types);
    if (types.has('CNAME') && types.size > 1) throw new ValidationError(field, `${record.name} has a CNAME and so cannot hold other records`);
    if (record.type === 'CNAME' && [...seen].filter((s) => s.startsWith(`${rrsetKey(record)} `)).length > 1) {
      throw new ValidationError(field, `${record.name} can hold only one CNAME`);
    }
  });
  return records;
}
