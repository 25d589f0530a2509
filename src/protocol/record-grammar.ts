/**
 * The grammar of DNS record fields as Fleetpanel models them: owner names (absolute, without the
 * trailing dot) and the content of each record type, in the form a person writes it; the trailing
 * dots and TXT quoting PowerDNS wants are added only at its API boundary.
 */
import { checkDomain, checkIpv4, checkIpv6, type Checker } from '../core/grammar.ts';

export const RECORD_TYPES = ['A', 'AAAA', 'MX', 'CNAME', 'TXT', 'NS', 'SRV', 'CAA'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

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

export const CONTENT_CHECKERS: Record<RecordType, Checker> = {
  A: checkIpv4,
  AAAA: checkIpv6,
  MX: checkMx,
  CNAME: checkDomain,
  NS: checkDomain,
  TXT: checkTxt,
  SRV: checkSrv,
  CAA: checkCaa,
};

/** A record's name as sent: '@' for the zone apex, or an owner name. */
export const checkRecordName: Checker = (value) => (value === '@' ? null : checkOwnerName(value));
