/**
 * DNS records as Fleetpanel models them, checked strictly per type before they reach PowerDNS.
 * Names are absolute without the trailing dot (`www.example.com`), or `@` for the zone apex; the
 * trailing dots and the TXT quoting PowerDNS wants are added only at its API boundary.
 */
import { ValidationError } from '../core/errors.ts';
import { assertValid, checkDomain, checkIpv4, checkIpv6, type Checker } from '../core/grammar.ts';

export const RECORD_TYPES = ['A', 'AAAA', 'MX', 'CNAME', 'TXT', 'NS', 'SRV', 'CAA'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

export interface ZoneRecord {
  /** FQDN without the trailing dot, or '@' for the zone itself. */
  name: string;
  type: RecordType;
  ttl: number;
  /**
   * A/AAAA: address; MX: `<priority> <host>`; CNAME/NS: host; TXT: the text itself, unquoted;
   * SRV: `<priority> <weight> <port> <host>`; CAA: `<flags> <tag> "<value>"`.
   */
  content: string;
}

export const DEFAULT_TTL = 3600;
/** Below a minute resolvers hammer the node; above a week a mistake lingers for too long. */
export const MIN_TTL = 60;
export const MAX_TTL = 604_800;
/** One TXT character-string holds at most 255 octets; longer texts are split into several. */
export const TXT_STRING_LIMIT = 255;
/** Long enough for a 4096-bit DKIM key, short enough to keep answers within a TCP message. */
export const TXT_TOTAL_LIMIT = 2048;

const OWNER_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** Owner names may hold underscores (_dmarc, _sip._tcp) and a leading wildcard label, unlike host names. */
export const checkOwnerName: Checker = (value) => {
  if (value.length === 0) return 'must not be empty';
  if (value.length > 253) return 'must be at most 253 characters';
  if (value.endsWith('.')) return 'must be written without the trailing dot';
  const labels = value.split('.');
  for (const [index, label] of labels.entries()) {
    if (label === '*' && index === 0) continue;
    if (label.length > 63) return `label '${label.slice(0, 20)}…' is longer than 63 characters`;
    if (!OWNER_LABEL.test(label)) return `label '${label}' may hold only a-z, 0-9, _ and inner hyphens`;
  }
  return null;
};

const checkUint16 = (value: string): boolean => /^(0|[1-9][0-9]{0,4})$/.test(value) && Number(value) <= 65535;

const checkMx: Checker = (value) => {
  const parts = value.split(' ');
  if (parts.length !== 2 || !checkUint16(parts[0]!)) return 'must be "<priority 0-65535> <host>"';
  const host = checkDomain(parts[1]!);
  return host && `host ${host}`;
};

const checkSrv: Checker = (value) => {
  const parts = value.split(' ');
  if (parts.length !== 4 || !parts.slice(0, 3).every(checkUint16)) return 'must be "<priority> <weight> <port> <host>" with numbers 0-65535';
  const host = checkDomain(parts[3]!);
  return host && `host ${host}`;
};

const checkCaa: Checker = (value) => {
  const match = /^(0|[1-9][0-9]{0,2}) (issue|issuewild|iodef) "([\x20-\x21\x23-\x5b\x5d-\x7e]{0,255})"$/.exec(value);
  if (!match || Number(match[1]) > 255) return 'must be \'<flags 0-255> issue|issuewild|iodef "<value>"\' with printable ASCII and no quotes inside';
  return null;
};

/** Printable ASCII, spaces included; quotes and backslashes are allowed because they are escaped at the boundary. */
const checkTxt: Checker = (value) => {
  if (value.length === 0) return 'must not be empty';
  if (value.length > TXT_TOTAL_LIMIT) return `must be at most ${TXT_TOTAL_LIMIT} characters`;
  if (!/^[\x20-\x7e]*$/.test(value)) return 'may hold only printable ASCII characters (no control characters or line breaks)';
  return null;
};

const CONTENT_CHECKERS: Record<RecordType, Checker> = {
  A: checkIpv4,
  AAAA: checkIpv6,
  MX: checkMx,
  CNAME: checkDomain,
  NS: checkDomain,
  TXT: checkTxt,
  SRV: checkSrv,
  CAA: checkCaa,
};

function isRecordType(value: unknown): value is RecordType {
  return typeof value === 'string' && (RECORD_TYPES as readonly string[]).includes(value);
}

/** Checks one untrusted record of `zone`; returns it with '@' resolved to the zone name. */
export function validateZoneRecord(zone: string, input: unknown, field = 'record'): ZoneRecord {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ValidationError(field, 'must be an object');
  const raw = input as Record<string, unknown>;
  const rawName = raw.name === '@' ? zone : raw.name;
  const name = assertValid(`${field}.name`, rawName, checkOwnerName);
  if (name !== zone && !name.endsWith(`.${zone}`)) throw new ValidationError(`${field}.name`, `must be ${zone} or a name inside it`);
  if (!isRecordType(raw.type)) throw new ValidationError(`${field}.type`, `must be one of ${RECORD_TYPES.join(', ')}`);
  const type = raw.type;
  if (typeof raw.ttl !== 'number' || !Number.isInteger(raw.ttl) || raw.ttl < MIN_TTL || raw.ttl > MAX_TTL) {
    throw new ValidationError(`${field}.ttl`, `must be a whole number of seconds from ${MIN_TTL} to ${MAX_TTL}`);
  }
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

export interface DefaultZoneInput {
  domain: string;
  /** Where the site (apex and www.) lives. */
  address: string;
  /** Where mail., the MX and webmail./autoconfig./autodiscover. point. */
  mailAddress: string;
  nameservers: string[];
  /** AAAA for the apex and www. only when the web node has an IPv6 address. */
  ipv6?: string;
}

/** The records a new domain starts with; the SOA is PowerDNS's to keep. */
export function defaultZoneRecords(input: DefaultZoneInput): ZoneRecord[] {
  const domain = assertValid('domain', input.domain, checkDomain);
  const address = assertValid('address', input.address, checkIpv4);
  const mailAddress = assertValid('mailAddress', input.mailAddress, checkIpv4);
  if (!Array.isArray(input.nameservers) || input.nameservers.length === 0) throw new ValidationError('nameservers', 'must name at least one name server');
  const nameservers = input.nameservers.map((ns, index) => assertValid(`nameservers[${index}]`, ns, checkDomain));
  const ipv6 = input.ipv6 === undefined ? undefined : assertValid('ipv6', input.ipv6, checkIpv6);
  const record = (name: string, type: RecordType, content: string): ZoneRecord => ({ name, type, ttl: DEFAULT_TTL, content });

  const records: ZoneRecord[] = [
    ...nameservers.map((ns) => record(domain, 'NS', ns)),
    record(domain, 'A', address),
    record(`www.${domain}`, 'A', address),
    record(domain, 'MX', `10 mail.${domain}`),
    ...['mail', 'webmail', 'autoconfig', 'autodiscover'].map((host) => record(`${host}.${domain}`, 'A', mailAddress)),
  ];
  if (ipv6 !== undefined) records.push(record(domain, 'AAAA', ipv6), record(`www.${domain}`, 'AAAA', ipv6));
  // Run the generated set through the same checks as user input (length limits of www./autodiscover.).
  return validateZoneRecords(domain, records);
}

/** TXT text as PowerDNS wants it: quoted character-strings of at most 255 characters, with " and \ escaped. */
export function quoteTxt(text: string): string {
  const strings: string[] = [];
  for (let start = 0; start < text.length; start += TXT_STRING_LIMIT) strings.push(text.slice(start, start + TXT_STRING_LIMIT));
  return strings.map((s) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(' ');
}

/** Joins PowerDNS's quoted character-strings back into one text (\DDD escapes included). */
export function unquoteTxt(content: string): string {
  let text = '';
  let index = 0;
  while (index < content.length) {
    if (content[index] === ' ') {
      index += 1;
      continue;
    }
    if (content[index] !== '"') throw new Error(`unexpected TXT content from PowerDNS: ${content}`);
    index += 1;
    while (index < content.length && content[index] !== '"') {
      if (content[index] === '\\') {
        const digits = /^[0-9]{3}/.exec(content.slice(index + 1));
        if (digits) {
          text += String.fromCharCode(Number(digits[0]));
          index += 4;
        } else {
          text += content[index + 1] ?? '';
          index += 2;
        }
      } else {
        text += content[index];
        index += 1;
      }
    }
    index += 1;
  }
  return text;
}

const HOST_FIELD: Partial<Record<RecordType, number>> = { MX: 1, CNAME: 0, NS: 0, SRV: 3 };

/** Content in PowerDNS's presentation form: absolute host names end with a dot, TXT is quoted. */
export function toPowerDnsContent(record: Pick<ZoneRecord, 'type' | 'content'>): string {
  if (record.type === 'TXT') return quoteTxt(record.content);
  const hostField = HOST_FIELD[record.type];
  if (hostField === undefined) return record.content;
  const parts = record.content.split(' ');
  parts[hostField] = `${parts[hostField]}.`;
  return parts.join(' ');
}

export function fromPowerDnsContent(type: RecordType, content: string): string {
  if (type === 'TXT') return unquoteTxt(content);
  const hostField = HOST_FIELD[type];
  if (hostField === undefined) return content;
  const parts = content.split(' ');
  parts[hostField] = (parts[hostField] ?? '').replace(/\.$/, '');
  return parts.join(' ');
}

export function isSupportedRecordType(type: string): type is RecordType {
  return isRecordType(type);
}
