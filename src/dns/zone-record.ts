/**
 * DNS records beyond what crosses the wire (src/protocol/zone-record.ts): the records a new domain
 * starts with, and PowerDNS's presentation form (trailing dots, TXT quoting), added only at its
 * API boundary.
 */
import { ValidationError } from '../core/errors.ts';
import { assertValid, checkDomain, checkIpv4, checkIpv6 } from '../core/grammar.ts';
import { DEFAULT_TTL, RECORD_TYPES, TXT_STRING_LIMIT, type RecordType } from '../protocol/record-grammar.ts';
import { validateZoneRecords, type ZoneRecord } from '../protocol/zone-record.ts';

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
  return (RECORD_TYPES as readonly string[]).includes(type);
}
