/**
 * System data: lists kept identical on every node they concern (firewall, scheduler, mail
 * whitelist and blacklist). Every item carries a stable id so that two lists can be compared
 * item by item; the schemas hold the strict grammars each field must pass before it can reach
 * nft, a cron file or a Postfix map, and validateList adds the rules across fields and items.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ValidationError } from '../core/errors.ts';
import { checkCanonicalNetwork, checkSenderValue } from './item-grammar.ts';
import { checkSchema } from './schema-check.ts';

export const SYSTEM_DATA_TYPES = ['firewall', 'whitelist', 'blacklist', 'scheduler'] as const;
export type SystemDataType = (typeof SYSTEM_DATA_TYPES)[number];
export const SystemDataTypeSchema = Type.Union(SYSTEM_DATA_TYPES.map((t) => Type.Literal(t)));

/**
 * The ports no firewall rule may take away from a node: SSH (installation and repair) and the
 * agent (everything else). The firewall driver accepts them before any user rule as well.
 */
export const PROTECTED_TCP_PORTS: ReadonlyMap<number, string> = new Map([
  [22, 'SSH'],
  [7443, 'the Fleetpanel agent'],
]);

const oneOf = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)), { reason: `must be one of ${values.join(', ')}` });
const itemId = Type.String({ format: 'fp-item-id' });
const strict = { additionalProperties: false } as const;

export const FirewallRule = Type.Object(
  {
    id: itemId,
    action: oneOf(['allow', 'deny'] as const),
    protocol: oneOf(['tcp', 'udp'] as const),
    /** A single port, or an inclusive range written 'first-last'; the range's bounds are checked by portProblem. */
    port: Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ pattern: '^[1-9][0-9]{0,4}-[1-9][0-9]{0,4}$' })], {
      reason: "must be a port number from 1 to 65535, or a range written 'first-last' (8000-8100)",
    }),
    /** An IPv4 network or address; '0.0.0.0/0' matches every source. */
    source: Type.String({ format: 'fp-canonical-network' }),
    comment: Type.Optional(Type.String({ format: 'fp-rule-comment' })),
  },
  strict,
);
export type FirewallRule = Static<typeof FirewallRule>;

export const ScheduledTask = Type.Object(
  {
    id: itemId,
    /** Five cron fields, or one of CRON_MACROS. */
    schedule: Type.String({ format: 'fp-cron-schedule' }),
    command: Type.String({ format: 'fp-cron-command' }),
    user: Type.String({ format: 'fp-unix-user' }),
  },
  strict,
);
export type ScheduledTask = Static<typeof ScheduledTask>;

export const AccessEntry = Type.Object(
  {
    id: itemId,
    /** sender: an e-mail address or '@domain'; network: an IPv4 network or address (checked by kind in validateAccessEntry). */
    kind: oneOf(['sender', 'network'] as const),
    value: Type.String(),
  },
  strict,
);
export type AccessEntry = Static<typeof AccessEntry>;

export interface SystemDataItems {
  firewall: FirewallRule;
  whitelist: AccessEntry;
  blacklist: AccessEntry;
  scheduler: ScheduledTask;
}
export type SystemDataItem<T extends SystemDataType> = SystemDataItems[T];

export const ITEM_SCHEMAS: { [T in SystemDataType]: TSchema } = { firewall: FirewallRule, whitelist: AccessEntry, blacklist: AccessEntry, scheduler: ScheduledTask };

/** PUT /v1/sysdata/:type: the node's whole list; each item is checked by validateList. */
export const SysdataListRequest = Type.Object({ items: Type.Array(Type.Unknown(), { maxItems: 10_000 }) });
export type SysdataListRequest = Static<typeof SysdataListRequest>;

/** What a node answers for a list: the items read back from the real thing, and their digest. */
export interface SysdataListResponse {
  type: SystemDataType;
  items: unknown[];
  digest: string;
}

/** Parses a port field into its first and last port (equal for a single port). */
export function portBounds(port: number | string): { first: number; last: number } {
  if (typeof port === 'number') return { first: port, last: port };
  const [first, last] = port.split('-').map(Number) as [number, number];
  return { first, last };
}

/** What is wrong with a rule's port beyond its shape: range bounds, and the ports that keep the panel in. */
function portProblem(rule: FirewallRule): string | null {
  const { first, last } = portBounds(rule.port);
  if (first > 65535 || last > 65535) return 'ports must be from 1 to 65535';
  if (first >= last && typeof rule.port === 'string') return 'a range must run from a lower to a higher port';
  if (rule.action === 'deny' && rule.protocol === 'tcp') {
    for (const [port, what] of PROTECTED_TCP_PORTS) {
      if (port >= first && port <= last) {
        return `a deny rule must not cover tcp port ${port} (${what}): that would lock the panel out of the node; split the range around it`;
      }
    }
  }
  return null;
}

/** `path` prefixes the field names (`firewall[2].`), so a refusal points into the list. */
export function validateFirewallRule(value: unknown, path = ''): FirewallRule {
  const item = checkSchema(FirewallRule, value, { at: path.replace(/\.$/, ''), root: path.replace(/\.$/, '') || 'item' });
  const problem = portProblem(item);
  if (problem !== null) throw new ValidationError(`${path}port`, problem);
  const { id, action, protocol, port, source, comment } = item;
  return { id, action, protocol, port, source, ...(comment !== undefined ? { comment } : {}) };
}

export function validateScheduledTask(value: unknown, path = ''): ScheduledTask {
  const { id, schedule, command, user } = checkSchema(ScheduledTask, value, { at: path.replace(/\.$/, ''), root: path.replace(/\.$/, '') || 'item' });
  return { id, schedule, command, user };
}

export function validateAccessEntry(value: unknown, path = ''): AccessEntry {
  const { id, kind, value: entryValue } = checkSchema(AccessEntry, value, { at: path.replace(/\.$/, ''), root: path.replace(/\.$/, '') || 'item' });
  const reason = (kind === 'sender' ? checkSenderValue : checkCanonicalNetwork)(entryValue);
  if (reason !== null) throw new ValidationError(`${path}value`, reason);
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
