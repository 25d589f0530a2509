/**
 * System data: lists kept identical on every node they concern (firewall, scheduler, mail
 * whitelist and blacklist). Every item carries a stable id so that two lists can be compared
 * item by item, and every field is checked against a strict grammar before it can reach nft,
 * a cron file or a Postfix map. Pure, no I/O.
 */
import { ValidationError } from '../core/errors.ts';
import { checkDomain, checkEmail, checkIpv4, checkNetwork, checkSafeLine, type Checker } from '../core/grammar.ts';

export const SYSTEM_DATA_TYPES = ['firewall', 'whitelist', 'blacklist', 'scheduler'] as const;
export type SystemDataType = (typeof SYSTEM_DATA_TYPES)[number];

export interface FirewallRule {
  id: string;
  action: 'allow' | 'deny';
  protocol: 'tcp' | 'udp';
  /** A single port, or an inclusive range written 'first-last'. */
  port: number | string;
  /** An IPv4 network or address; '0.0.0.0/0' matches every source. */
  source: string;
  comment?: string;
}

export interface ScheduledTask {
  id: string;
  /** Five cron fields, or one of CRON_MACROS. */
  schedule: string;
  command: string;
  user: string;
}

export interface AccessEntry {
  id: string;
  /** sender: an e-mail address or '@domain'; network: an IPv4 network or address. */
  kind: 'sender' | 'network';
  value: string;
}

export interface SystemDataItems {
  firewall: FirewallRule;
  whitelist: AccessEntry;
  blacklist: AccessEntry;
  scheduler: ScheduledTask;
}
export type SystemDataItem<T extends SystemDataType> = SystemDataItems[T];

/**
 * The ports no firewall rule may take away from a node: SSH (installation and repair) and the
 * agent (everything else). The firewall driver accepts them before any user rule as well.
 */
export const PROTECTED_TCP_PORTS: ReadonlyMap<number, string> = new Map([
  [22, 'SSH'],
  [7443, 'the Fleetpanel agent'],
]);

export const CRON_MACROS = ['@hourly', '@daily', '@weekly', '@monthly', '@reboot'] as const;

/**
 * Ids end up in nft comments, cron comments and map comments, so they are short and plain.
 * ':' is deliberately outside the grammar: ids the drivers make up for hand-made entries they
 * find on a node use it, so they can never collide with a real id.
 */
export const checkItemId: Checker = (value) =>
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$/.test(value) ? null : 'must be 1 to 48 characters of A-Z, a-z, 0-9, _, . and -, starting with a letter or digit';

/**
 * The nft comment is a double-quoted string with no escapes, limited to 128 bytes together
 * with the id, so it is printable ASCII without the characters that end or nest a quoted string.
 */
export const checkRuleComment: Checker = (value) => {
  if (value.length === 0) return 'must not be empty (leave it out instead)';
  if (value.length > 64) return 'must be at most 64 characters';
  if (!/^[\x20-\x7e]*$/.test(value)) return 'must be printable ASCII on one line';
  if (/["'\\{};#`$]/.test(value)) return 'must not contain quotes, backslashes, braces, ;, #, ` or $';
  if (value !== value.trim()) return 'must not start or end with a space';
  return null;
};

/** Debian's NAME_REGEX, bounded to the 32 characters useradd accepts. */
export const checkUnixUser: Checker = (value) =>
  /^[a-z_][a-z0-9_-]{0,31}$/.test(value) ? null : 'must be a unix user name: a-z or _ first, then a-z, 0-9, _ and -, at most 32 characters';

/**
 * A network in the one spelling nft and Postfix print back, so a list read from a node compares
 * equal to the list that was written: no host bits beyond the prefix, no '/32'.
 */
export const checkCanonicalNetwork: Checker = (value) => {
  const reason = checkNetwork(value);
  if (reason !== null) return reason;
  const [address, prefixText] = value.split('/') as [string, string | undefined];
  if (prefixText === undefined) return null;
  const prefix = Number(prefixText);
  if (prefix === 32) return `write the address without /32 (${address})`;
  const asNumber = address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  const hostBits = 2 ** (32 - prefix);
  if (asNumber % hostBits !== 0) {
    const networkNumber = asNumber - (asNumber % hostBits);
    const network = [24, 16, 8, 0].map((shift) => Math.floor(networkNumber / 2 ** shift) % 256).join('.');
    return `has host bits set; the network is ${network}/${prefix}`;
  }
  return null;
};

const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

function checkCronField(text: string, field: (typeof CRON_FIELDS)[number]): string | null {
  const bad = `${field.name} '${text}' must be *, a number, a range a-b, a step */n or a-b/n, or a comma list of those (${field.min}-${field.max})`;
  for (const item of text.split(',')) {
    const match = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(item);
    if (!match) return bad;
    const [, , firstText, lastText, stepText] = match;
    if (firstText !== undefined) {
      const first = Number(firstText);
      const last = lastText === undefined ? first : Number(lastText);
      if (first < field.min || last > field.max) return `${field.name} '${item}' is outside ${field.min}-${field.max}`;
      if (first > last) return `${field.name} range '${item}' runs backwards`;
      // cron reads 'a/n' as 'a-max/n'; accepting it would hide a likely mistake.
      if (stepText !== undefined && lastText === undefined) return `${field.name} step '${item}' needs a range or * before the /`;
    }
    if (stepText !== undefined) {
      const step = Number(stepText);
      if (step < 1 || step > field.max) return `${field.name} step '${item}' must be 1 to ${field.max}`;
    }
  }
  return null;
}

export const checkCronSchedule: Checker = (value) => {
  if ((CRON_MACROS as readonly string[]).includes(value)) return null;
  if (value.startsWith('@')) return `must be five cron fields or one of ${CRON_MACROS.join(', ')}`;
  const fields = value.split(' ');
  if (fields.length !== 5 || fields.some((f) => f === '')) return 'must be five cron fields separated by single spaces (minute hour day-of-month month day-of-week)';
  for (let i = 0; i < 5; i++) {
    const reason = checkCronField(fields[i]!, CRON_FIELDS[i]!);
    if (reason !== null) return reason;
  }
  return null;
};

/** A command is one line handed to /bin/sh by cron. */
export const checkCronCommand: Checker = (value) => {
  const line = checkSafeLine(value);
  if (line !== null) return line;
  // cron turns an unescaped % into a newline and feeds the rest to stdin.
  if (value.includes('%')) return 'must not contain % (cron reads it as a line break); put the command in a script';
  if (value !== value.trim()) return 'must not start or end with whitespace';
  return null;
};

export const checkSenderValue: Checker = (value) => {
  if (value.startsWith('@')) {
    const reason = checkDomain(value.slice(1));
    return reason === null ? null : `domain ${reason}`;
  }
  return checkEmail(value) === null ? null : 'must be an e-mail address (user@example.com) or a domain written @example.com';
};

// ---------------------------------------------------------------------------------------------
// Validators: each takes untrusted input and returns a fresh object holding only known fields.

type Fields = Record<string, unknown>;

function asObject(value: unknown, path: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(path || 'item', 'must be an object');
  return value as Fields;
}

function refuseUnknownFields(item: Fields, known: readonly string[], path: string): void {
  for (const key of Object.keys(item)) {
    if (!known.includes(key)) throw new ValidationError(`${path}${key}`, 'is not a known field');
  }
}

function stringField(item: Fields, key: string, path: string, checker: Checker): string {
  const value = item[key];
  if (typeof value !== 'string') throw new ValidationError(`${path}${key}`, value === undefined ? 'is required' : 'must be a string');
  const reason = checker(value);
  if (reason !== null) throw new ValidationError(`${path}${key}`, reason);
  return value;
}

function oneOf<T extends string>(item: Fields, key: string, path: string, allowed: readonly T[]): T {
  const value = item[key];
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ValidationError(`${path}${key}`, `must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Parses a port field into its first and last port (equal for a single port). */
export function portBounds(port: number | string): { first: number; last: number } {
  if (typeof port === 'number') return { first: port, last: port };
  const [first, last] = port.split('-').map(Number) as [number, number];
  return { first, last };
}

function validatePort(value: unknown, field: string): number | string {
  const isPortNumber = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;
  if (typeof value === 'number') {
    if (!isPortNumber(value)) throw new ValidationError(field, 'must be a port number from 1 to 65535');
    return value;
  }
  if (typeof value === 'string') {
    const match = /^([1-9][0-9]{0,4})-([1-9][0-9]{0,4})$/.exec(value);
    if (!match) throw new ValidationError(field, "must be a port number, or a range written 'first-last' (8000-8100)");
    const first = Number(match[1]);
    const last = Number(match[2]);
    if (!isPortNumber(first) || !isPortNumber(last)) throw new ValidationError(field, 'ports must be from 1 to 65535');
    if (first >= last) throw new ValidationError(field, 'a range must run from a lower to a higher port');
    return value;
  }
  throw new ValidationError(field, value === undefined ? 'is required' : 'must be a number or a range string');
}

export function validateFirewallRule(value: unknown, path = ''): FirewallRule {
  const item = asObject(value, path);
  refuseUnknownFields(item, ['id', 'action', 'protocol', 'port', 'source', 'comment'], path);
  const rule: FirewallRule = {
    id: stringField(item, 'id', path, checkItemId),
    action: oneOf(item, 'action', path, ['allow', 'deny'] as const),
    protocol: oneOf(item, 'protocol', path, ['tcp', 'udp'] as const),
    port: validatePort(item.port, `${path}port`),
    source: stringField(item, 'source', path, checkCanonicalNetwork),
  };
  if (item.comment !== undefined) rule.comment = stringField(item, 'comment', path, checkRuleComment);
  if (rule.action === 'deny' && rule.protocol === 'tcp') {
    const { first, last } = portBounds(rule.port);
    for (const [port, what] of PROTECTED_TCP_PORTS) {
      if (port >= first && port <= last) {
        throw new ValidationError(`${path}port`, `a deny rule must not cover tcp port ${port} (${what}): that would lock the panel out of the node; split the range around it`);
      }
    }
  }
  return rule;
}

export function validateScheduledTask(value: unknown, path = ''): ScheduledTask {
  const item = asObject(value, path);
  refuseUnknownFields(item, ['id', 'schedule', 'command', 'user'], path);
  return {
    id: stringField(item, 'id', path, checkItemId),
    schedule: stringField(item, 'schedule', path, checkCronSchedule),
    command: stringField(item, 'command', path, checkCronCommand),
    user: stringField(item, 'user', path, checkUnixUser),
  };
}

export function validateAccessEntry(value: unknown, path = ''): AccessEntry {
  const item = asObject(value, path);
  refuseUnknownFields(item, ['id', 'kind', 'value'], path);
  const id = stringField(item, 'id', path, checkItemId);
  const kind = oneOf(item, 'kind', path, ['sender', 'network'] as const);
  const entryValue = stringField(item, 'value', path, kind === 'sender' ? checkSenderValue : checkCanonicalNetwork);
  return { id, kind, value: entryValue };
}

const ITEM_VALIDATORS: { [T in SystemDataType]: (value: unknown, path: string) => SystemDataItem<T> } = {
  firewall: validateFirewallRule,
  whitelist: validateAccessEntry,
  blacklist: validateAccessEntry,
  scheduler: validateScheduledTask,
};

/** What makes two items the same entry even under different ids (so a list cannot hold it twice). */
function identityKey<T extends SystemDataType>(type: T, item: SystemDataItem<T>): string | undefined {
  if (type === 'whitelist' || type === 'blacklist') {
    const entry = item as AccessEntry;
    return `${entry.kind} ${entry.value}`;
  }
  return undefined;
}

/** Validates a whole list: every item, ids unique, no entry twice. Fields are named like firewall[2].port. */
export function validateList<T extends SystemDataType>(type: T, value: unknown): SystemDataItem<T>[] {
  if (!Array.isArray(value)) throw new ValidationError(type, 'must be a list');
  const ids = new Set<string>();
  const identities = new Set<string>();
  return value.map((raw, index) => {
    const path = `${type}[${index}].`;
    const item = ITEM_VALIDATORS[type](raw, path) as SystemDataItem<T>;
    if (ids.has(item.id)) throw new ValidationError(`${path}id`, `'${item.id}' is used twice`);
    ids.add(item.id);
    const identity = identityKey(type, item);
    if (identity !== undefined) {
      if (identities.has(identity)) throw new ValidationError(`${path}value`, `'${(item as AccessEntry).value}' is listed twice`);
      identities.add(identity);
    }
    return item;
  });
}

/** Network addresses used by the validators elsewhere (node addresses given to the drivers). */
export function assertIpv4(field: string, value: string): void {
  const reason = checkIpv4(value);
  if (reason !== null) throw new ValidationError(field, reason);
}
