/**
 * Firewall rules of one node as an nftables table of its own, `inet fleetpanel_<tag>`.
 *
 * Several nodes of the local cluster share one kernel, so every rule matches `ip daddr <node
 * address>` and each node owns only its own table: applying never touches another table. The
 * whole table is deleted and recreated in one `nft -f` transaction, so the kernel holds either
 * the old rules or the new ones, never a mix. The list is a set (rendered allow rules before
 * deny rules, each sorted by id), so the order the admin gave never changes what is enforced
 * and the digest can sort by id.
 */
import { CommandError, run } from '../core/exec.ts';
import { writeFileAtomic } from '../core/files.ts';
import { SerialQueue } from '../core/serial-by-key.ts';
import type { NodeLayout } from '../agent/node-layout.ts';
import { sortById } from './digest.ts';
import { verifyApplied, type SystemDataDriver } from './driver.ts';
import { PROTECTED_TCP_PORTS, validateList, type FirewallRule } from '../protocol/sysdata-items.ts';
import { assertValid, checkIpv4 } from '../core/grammar.ts';

const CHAIN = 'input';
const ID_PREFIX = 'fp:';
const GUARD_PREFIX = 'fleetpanel:guard ';

export function firewallTableName(address: string): string {
  assertValid('address', address, checkIpv4);
  return `fleetpanel_${address.replaceAll('.', '_')}`;
}

export interface FirewallLayoutOptions {
  address: string;
  /** Accepted before every user rule; the agent port and SSH by default. */
  guardedTcpPorts?: readonly number[];
}

function guardPorts(options: FirewallLayoutOptions): number[] {
  return [...(options.guardedTcpPorts ?? [...PROTECTED_TCP_PORTS.keys()])].sort((a, b) => a - b);
}

function renderPort(port: number | string): string {
  return String(port);
}

function renderRule(address: string, rule: FirewallRule): string {
  const source = rule.source === '0.0.0.0/0' ? '' : ` ip saddr ${rule.source}`;
  const verdict = rule.action === 'allow' ? 'accept' : rule.protocol === 'tcp' ? 'reject with tcp reset' : 'reject';
  const comment = `${ID_PREFIX}${rule.id}${rule.comment === undefined ? '' : ` ${rule.comment}`}`;
  return `ip daddr ${address}${source} ${rule.protocol} dport ${renderPort(rule.port)} ${verdict} comment "${comment}"`;
}

/** The nft script that replaces the node's table in one transaction. Pure. */
export function renderFirewall(options: FirewallLayoutOptions, rules: readonly FirewallRule[]): string {
  const { address } = options;
  const table = firewallTableName(address);
  const guards = [
    ...guardPorts(options).map((port) => `ip daddr ${address} tcp dport ${port} accept comment "${GUARD_PREFIX}port ${port}"`),
    // Replies to the node's own outgoing connections land on arbitrary ports; a deny range must not cut them off.
    `ip daddr ${address} ct state established,related accept comment "${GUARD_PREFIX}established"`,
  ];
  const sorted = sortById(rules);
  const userRules = [...sorted.filter((r) => r.action === 'allow'), ...sorted.filter((r) => r.action === 'deny')].map((r) => renderRule(address, r));
  return [
    `# Fleetpanel firewall of node ${address}. Written by the agent; hand edits are overwritten.`,
    // Declaring the table first makes the delete succeed on a node that has none yet.
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    `  chain ${CHAIN} {`,
    '    type filter hook input priority filter; policy accept;',
    ...[...guards, ...userRules].map((line) => `    ${line}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Reading back `nft -j list table`: only the shapes renderFirewall writes are recognised; every
// other rule is reported as an unmanaged entry, so hand-made changes show as a digest mismatch.

type NftExpr = Record<string, unknown>;
interface NftRule {
  chain: string;
  handle: number;
  comment?: string;
  expr: NftExpr[];
}
interface NftChain {
  name: string;
  hook?: string;
  policy?: string;
}

interface ParsedMatches {
  daddr?: string;
  source?: string;
  protocol?: 'tcp' | 'udp';
  port?: number | string;
  verdict?: 'allow' | 'deny';
  unknown: boolean;
}

function parseRight(right: unknown): string | number | undefined {
  if (typeof right === 'string' || typeof right === 'number') return right;
  if (typeof right !== 'object' || right === null) return undefined;
  const prefix = (right as { prefix?: { addr?: unknown; len?: unknown } }).prefix;
  if (prefix && typeof prefix.addr === 'string' && typeof prefix.len === 'number') return `${prefix.addr}/${prefix.len}`;
  const range = (right as { range?: unknown }).range;
  if (Array.isArray(range) && range.length === 2 && range.every((n) => typeof n === 'number')) return `${range[0]}-${range[1]}`;
  return undefined;
}

function parseExpressions(expressions: readonly NftExpr[]): ParsedMatches {
  const parsed: ParsedMatches = { unknown: false };
  for (const expr of expressions) {
    if ('counter' in expr) continue; // counting changes nothing that is enforced
    if ('accept' in expr) {
      parsed.verdict = 'allow';
      continue;
    }
    if ('reject' in expr || 'drop' in expr) {
      parsed.verdict = 'deny';
      continue;
    }
    const match = expr.match as { op?: string; left?: { payload?: { protocol?: string; field?: string } }; right?: unknown } | undefined;
    const payload = match?.left?.payload;
    const right = parseRight(match?.right);
    if (!match || match.op !== '==' || !payload || right === undefined) {
      parsed.unknown = true;
      continue;
    }
    if (payload.protocol === 'ip' && payload.field === 'daddr' && typeof right === 'string') parsed.daddr = right;
    else if (payload.protocol === 'ip' && payload.field === 'saddr' && typeof right === 'string') parsed.source = right;
    else if ((payload.protocol === 'tcp' || payload.protocol === 'udp') && payload.field === 'dport') {
      parsed.protocol = payload.protocol;
      parsed.port = right;
    } else parsed.unknown = true;
  }
  return parsed;
}

/** Turns the JSON listing of the node's table into rules. Pure, exported for unit tests. */
export function parseFirewallListing(options: FirewallLayoutOptions, listing: unknown): FirewallRule[] {
  const objects = ((listing as { nftables?: unknown[] })?.nftables ?? []) as Record<string, unknown>[];
  const chains = objects.flatMap((o) => (o.chain ? [o.chain as NftChain] : []));
  const rules = objects.flatMap((o) => (o.rule ? [o.rule as NftRule] : []));
  const found: FirewallRule[] = [];
  const anomaly = (id: string, port: number | string = '1-65535'): void => {
    found.push({ id, action: 'deny', protocol: 'tcp', port, source: '0.0.0.0/0' });
  };

  for (const chain of chains) {
    if (chain.name !== CHAIN) anomaly(`unmanaged:chain-${chain.name}`);
    else if (chain.hook !== 'input' || chain.policy !== 'accept') anomaly(`unmanaged:chain-${chain.name}-policy-${chain.policy ?? 'none'}`);
  }

  const guardsSeen = new Set<string>();
  for (const rule of rules) {
    const parsed = parseExpressions(rule.expr ?? []);
    const comment = rule.comment ?? '';
    const ownsShape = rule.chain === CHAIN && !parsed.unknown && parsed.daddr === options.address && parsed.verdict !== undefined;
    if (comment.startsWith(GUARD_PREFIX) && rule.chain === CHAIN) {
      guardsSeen.add(comment.slice(GUARD_PREFIX.length));
      continue;
    }
    const idMatch = /^fp:([^ ]+)(?: (.+))?$/.exec(comment);
    if (ownsShape && idMatch && parsed.protocol && parsed.port !== undefined) {
      const item: FirewallRule = {
        id: idMatch[1]!,
        action: parsed.verdict!,
        protocol: parsed.protocol,
        port: parsed.port,
        source: parsed.source ?? '0.0.0.0/0',
      };
      if (idMatch[2] !== undefined) item.comment = idMatch[2];
      found.push(item);
      continue;
    }
    found.push({
      id: `unmanaged:handle-${rule.handle}`,
      action: parsed.verdict ?? 'deny',
      protocol: parsed.protocol ?? 'tcp',
      port: parsed.port ?? '1-65535',
      source: parsed.source ?? '0.0.0.0/0',
    });
  }

  // A table that exists without its guards could lock out the agent: report that as drift too.
  if (chains.length > 0 || rules.length > 0) {
    for (const port of guardPorts(options)) {
      if (!guardsSeen.has(`port ${port}`)) anomaly(`unmanaged:missing-guard-${port}`, port);
    }
    if (!guardsSeen.has('established')) anomaly('unmanaged:missing-guard-established');
  }
  return found;
}

export interface FirewallDriverOptions extends FirewallLayoutOptions {
  layout: NodeLayout;
}

export class FirewallDriver implements SystemDataDriver<'firewall'> {
  readonly type = 'firewall' as const;
  readonly tableName: string;
  /** Two applies on one node must not interleave their write and their read-back. */
  private readonly applies = new SerialQueue();

  constructor(private readonly options: FirewallDriverOptions) {
    this.tableName = firewallTableName(options.address);
  }

  /** Where the last rendered script is kept (read by nft, and by a person debugging). */
  get scriptPath(): string {
    return this.options.layout.etc('nftables', 'fleetpanel.nft');
  }

  apply(rules: readonly FirewallRule[]): Promise<void> {
    return this.applies.run(async () => {
      // Validated here as well: the renderer relies on the grammar to keep the script well-formed.
      const valid = validateList('firewall', rules);
      writeFileAtomic(this.scriptPath, renderFirewall(this.options, valid), 0o600);
      await run('nft', ['-c', '-f', this.scriptPath]);
      await run('nft', ['-f', this.scriptPath]);
      await verifyApplied(this, valid);
    });
  }

  async read(): Promise<FirewallRule[]> {
    let stdout: string;
    try {
      ({ stdout } = await run('nft', ['-j', 'list', 'table', 'inet', this.tableName]));
    } catch (error) {
      if (error instanceof CommandError && /No such file or directory/.test(error.stderr)) return [];
      throw error;
    }
    return parseFirewallListing(this.options, JSON.parse(stdout));
  }

  /** Removes the node's table (the node leaves the cluster, or a test cleans up). */
  async remove(): Promise<void> {
    try {
      await run('nft', ['delete', 'table', 'inet', this.tableName]);
    } catch (error) {
      if (!(error instanceof CommandError && /No such file or directory/.test(error.stderr))) throw error;
    }
  }
}
