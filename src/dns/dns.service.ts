/**
 * The DNS workload at the parent: one zone per account domain on the account's DNS node. The
 * managed records are derived from where the account's web and mail live each time the zone is
 * pushed, so moving the mail only needs `refreshZone`; the records users add are kept in the
 * parent's store and merged in. The zone is always pushed whole (PowerDNS gets only the rrsets
 * that differ), so a node that missed a change is repaired by the next push.
 *
 * IPv6: an account gets AAAA records only when its IPv6 flag is on AND the node serving the name
 * has an IPv6 address set (`fleetpanel dns node-ipv6`). Nodes are linked by IPv4 and nothing
 * here can discover their public IPv6, so without a configured address there is no AAAA rather
 * than a guessed one.
 */
import { ConflictError, FleetError, ForbiddenError, NotFoundError, ValidationError } from '../core/errors.ts';
import { assertValid, checkAlias, checkIpv4, checkIpv6 } from '../core/grammar.ts';
import type { Principal } from '../auth/principal.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { WorkloadService } from '../accounts/workload.ts';
import type { NodeRow, NodesRepository } from '../nodes/nodes.repository.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { isServing } from '../nodes/node.model.ts';
import { SerialByKey } from '../core/serial-by-key.ts';
import type { DnsRepository, UserRecord } from './dns.repository.ts';
import { DEFAULT_TTL, type RecordType } from '../protocol/record-grammar.ts';
import { defaultZoneRecords } from './zone-record.ts';
import { validateZoneRecord, validateZoneRecords, type ZoneRecord } from '../protocol/zone-record.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';

export interface DnsAgents {
  /** undefined when the node holds no such zone */
  getZone(node: NodeRow, domain: string): Promise<ZoneRecord[] | undefined>;
  putZone(node: NodeRow, domain: string, records: ZoneRecord[]): Promise<void>;
  deleteZone(node: NodeRow, domain: string): Promise<void>;
  listZones(node: NodeRow): Promise<string[]>;
}

export function dnsAgentsOver(connections: NodeConnections): DnsAgents {
  return {
    async getZone(node, domain) {
      try {
        return (await connections.forRow(node).send(AGENT_ROUTES.dnsZone, { params: { domain } })).records;
      } catch (error) {
        if (error instanceof FleetError && error.kind === 'not_found') return undefined;
        throw error;
      }
    },
    async putZone(node, domain, records) {
      await connections.forRow(node).send(AGENT_ROUTES.putDnsZone, { params: { domain }, body: { records } });
    },
    async deleteZone(node, domain) {
      await connections.forRow(node).send(AGENT_ROUTES.removeDnsZone, { params: { domain } });
    },
    async listZones(node) {
      return (await connections.forRow(node).send(AGENT_ROUTES.dnsZones)).zones;
    },
  };
}

/** The name servers of every zone are ns1.<domain>, with a glue A record to the DNS node. */
const NAMESERVER_LABEL = 'ns1';
/** Names whose address records follow the account's nodes; a user record there would be overwritten by the next move. */
const MANAGED_HOST_LABELS = ['www', 'mail', 'webmail', 'autoconfig', 'autodiscover', NAMESERVER_LABEL] as const;
const MAIL_HOST_LABELS = ['mail', 'webmail', 'autoconfig', 'autodiscover'] as const;
const ADDRESS_TYPES: readonly RecordType[] = ['A', 'AAAA', 'CNAME', 'MX', 'NS'];
/** Enough for SPF, DKIM, DMARC, verification tokens and a few sub-sites; a bound keeps one account from bloating the node. */
export const MAX_USER_RECORDS = 500;

export const DNS_SYNC_PRIORITY = 60;

export interface UserRecordInput {
  /** '@', a name inside the zone (`blog.example.com`), or one relative to it (`blog`) */
  name: string;
  type: RecordType;
  ttl?: number;
  content: string;
}

export interface RecordView extends ZoneRecord {
  /** the id to remove a user record by; null for the records Fleetpanel manages */
  id: number | null;
  managed: boolean;
}

export interface ZoneView {
  username: string;
  domain: string;
  proxiedFrom: string;
  records: RecordView[];
}

/** Nodes to point the records at instead of the stored placements, for a move that is under way. */
export interface ZoneOverrides {
  webNode?: NodeRow;
  mailNode?: NodeRow;
}

const sameRecord = (a: ZoneRecord, b: ZoneRecord): boolean => a.name === b.name && a.type === b.type && a.content === b.content;

function ipv4Of(node: NodeRow): string {
  if (checkIpv4(node.host) !== null) {
    throw new ValidationError({ message: `node '${node.alias}' is linked by the host name '${node.host}'; its zone records need an IPv4 address, so link it by address`, details: { node: node.alias } });
  }
  return node.host;
}

/** Why a user may not add this record, or null: the managed names follow the account's nodes. */
export function managedRecordRefusal(domain: string, record: Pick<ZoneRecord, 'name' | 'type'>): { field: string; reason: string } | null {
  if (record.type === 'NS') return { field: 'type', reason: `NS records are managed by Fleetpanel (the zone is served by ${NAMESERVER_LABEL}.${domain}); sub-zone delegation is not offered` };
  const managedNames = [domain, ...MANAGED_HOST_LABELS.map((label) => `${label}.${domain}`)];
  if (managedNames.includes(record.name) && ADDRESS_TYPES.includes(record.type)) {
    return {
      field: 'name',
      reason: `${record.name} ${record.type} is managed by Fleetpanel (it follows the node that serves the account's ${MAIL_HOST_LABELS.some((l) => record.name === `${l}.${domain}`) ? 'mail' : 'site and zone'}); add TXT, CAA or SRV records there, or records under other names`,
    };
  }
  return null;
}

/** A user's name in the zone: '@' is the apex, a name inside the zone stays, anything else is relative to it. */
function absoluteRecordName(domain: string, name: string): string {
  if (name === '@' || name === domain || name.endsWith(`.${domain}`)) return name === '@' ? domain : name;
  return `${name}.${domain}`;
}

/** validateZoneRecord names fields `record.x`; the API's body fields are plain `x`. */
function asBodyFieldError(error: unknown): unknown {
  if (!(error instanceof ValidationError) || error.field === undefined) return error;
  const field = error.field.replace(/^record\.?/, '') || 'record';
  return new ValidationError(field, error.message.slice(error.field.length + 2));
}

/** Records another domain keeps in an account's zone (the ACME challenge answers), merged into every push. */
export type ZoneRecordContributor = (account: AccountRecord) => Promise<ZoneRecord[]>;

export class DnsService implements WorkloadService {
  readonly workload = 'dns' as const;
  private readonly perZone = new SerialByKey();
  private readonly contributors: ZoneRecordContributor[] = [];

  constructor(
    private readonly repo: DnsRepository,
    private readonly accounts: Pick<AccountsService, 'requireAccount' | 'nodeOf' | 'byDomain'>,
    private readonly nodes: Pick<NodesRepository, 'byAlias' | 'list'>,
    private readonly agents: DnsAgents,
  ) {}

  addRecordContributor(contributor: ZoneRecordContributor): void {
    this.contributors.push(contributor);
  }

  // ---- the zone

  /** Every record of the account's zone (without the SOA PowerDNS keeps): managed ones, then the user's. */
  async zoneRecords(account: AccountRecord, dnsNode: NodeRow, userRecords: readonly ZoneRecord[], overrides: ZoneOverrides = {}): Promise<ZoneRecord[]> {
    const domain = account.domain;
    const webNode = overrides.webNode ?? (await this.accounts.nodeOf(account, 'web'));
    const mailNode = overrides.mailNode ?? (await this.accounts.nodeOf(account, 'mail'));
    const webIpv6 = account.ipv6 ? await this.repo.nodeIpv6(webNode.id) : undefined;
    const mailIpv6 = account.ipv6 ? await this.repo.nodeIpv6(mailNode.id) : undefined;
    const nameserver = `${NAMESERVER_LABEL}.${domain}`;
    const managed = defaultZoneRecords({ domain, address: ipv4Of(webNode), mailAddress: ipv4Of(mailNode), nameservers: [nameserver], ipv6: webIpv6 });
    managed.push({ name: nameserver, type: 'A', ttl: DEFAULT_TTL, content: ipv4Of(dnsNode) });
    if (mailIpv6 !== undefined) managed.push(...MAIL_HOST_LABELS.map((label): ZoneRecord => ({ name: `${label}.${domain}`, type: 'AAAA', ttl: DEFAULT_TTL, content: mailIpv6 })));
    for (const contribute of this.contributors) managed.push(...(await contribute(account)));
    try {
      return validateZoneRecords(domain, [...managed, ...userRecords.map(({ name, type, ttl, content }) => ({ name, type, ttl, content }))]);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      // The managed records are valid on their own, so the set only breaks on a user record.
      const field = /\.ttl$/.test(error.field ?? '') ? 'ttl' : 'name';
      throw new ValidationError(field, `does not fit the zone: ${error.message.replace(/^records\[\d+\](\.\w+)?: /, '')}`);
    }
  }

  private async pushZone(account: AccountRecord, dnsNode: NodeRow, overrides: ZoneOverrides = {}): Promise<void> {
    await this.perZone.run(account.domain, async () => {
      const records = await this.zoneRecords(account, dnsNode, await this.repo.userRecords(account.id), overrides);
      await this.agents.putZone(dnsNode, account.domain, records);
    });
  }

  /**
   * Re-derives the account's zone from its placements and pushes it: call it after the account's
   * mail (or web) moved, or with `overrides` to point the names at a node before the store says so.
   */
  async refreshZone(account: AccountRecord, overrides: ZoneOverrides = {}): Promise<{ proxiedFrom: string }> {
    const dnsNode = await this.accounts.nodeOf(account, 'dns');
    await this.pushZone(account, dnsNode, overrides);
    return { proxiedFrom: dnsNode.alias };
  }

  // ---- the workload hooks

  provision(account: AccountRecord, node: NodeRow): Promise<void> {
    return this.pushZone(account, node);
  }

  /** A suspended account keeps its zone, so visitors reach the suspension page; the push only repairs drift. */
  suspend(account: AccountRecord, node: NodeRow): Promise<void> {
    return this.pushZone(account, node);
  }

  update(account: AccountRecord, node: NodeRow): Promise<void> {
    return this.pushZone(account, node);
  }

  async deprovision(account: AccountRecord, node: NodeRow): Promise<void> {
    await this.perZone.run(account.domain, () => this.agents.deleteZone(node, account.domain));
    await this.repo.removeUserRecords(account.id);
  }

  /** The data-sync step: a joining or returning node gets every zone it should hold and loses the ones of accounts gone meanwhile. */
  async syncNode(node: NodeRow): Promise<void> {
    if (!node.roles.includes('dns')) return;
    const domains = await this.repo.domainsWithDnsOn(node.id);
    for (const domain of domains) {
      const account = await this.accounts.byDomain(domain);
      if (account) await this.pushZone(account, node);
    }
    const wanted = new Set(domains);
    for (const zone of await this.agents.listZones(node)) {
      if (!wanted.has(zone)) await this.perZone.run(zone, () => this.agents.deleteZone(node, zone));
    }
  }

  // ---- the user's records

  async listRecords(principal: Principal, username: string): Promise<ZoneView> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    const node = await this.accounts.nodeOf(account, 'dns');
    const live = await this.agents.getZone(node, account.domain);
    if (live === undefined) throw new NotFoundError({ message: `the zone ${account.domain} is missing on node '${node.alias}'; it is restored when the node is next synchronised`, details: { proxiedFrom: node.alias } });
    const userRecords = await this.repo.userRecords(account.id);
    const records = live.map((record): RecordView => {
      const own = userRecords.find((candidate) => sameRecord(candidate, record));
      return { ...record, id: own?.id ?? null, managed: own === undefined };
    });
    return { username: account.username, domain: account.domain, proxiedFrom: node.alias, records };
  }

  async addRecord(principal: Principal, username: string, input: UserRecordInput): Promise<{ proxiedFrom: string; record: RecordView }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    const record = this.parseUserRecord(account.domain, input);
    return this.perZone.run(account.domain, async () => {
      const existing = await this.repo.userRecords(account.id);
      if (existing.length >= MAX_USER_RECORDS) throw new ConflictError(`account '${username}' already has ${MAX_USER_RECORDS} records of its own; remove some first`);
      if (existing.some((other) => sameRecord(other, record))) throw new ConflictError(`the zone already has ${record.name} ${record.type} ${record.content}`);
      const node = await this.accounts.nodeOf(account, 'dns');
      const zone = await this.zoneRecords(account, node, [...existing, record]);
      await this.agents.putZone(node, account.domain, zone);
      // Stored only once the node accepted; should this insert fail, the next push drops the record from the node again.
      const id = await this.repo.insertUserRecord(account.id, record);
      return { proxiedFrom: node.alias, record: { ...record, id, managed: false } };
    });
  }

  async removeRecord(principal: Principal, username: string, id: number): Promise<{ proxiedFrom: string; removed: UserRecord }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    return this.perZone.run(account.domain, async () => {
      const existing = await this.repo.userRecords(account.id);
      const target = existing.find((record) => record.id === id);
      if (!target) throw new NotFoundError({ message: `account '${username}' has no record of its own with id ${id}` });
      const node = await this.accounts.nodeOf(account, 'dns');
      await this.agents.putZone(node, account.domain, await this.zoneRecords(account, node, existing.filter((record) => record.id !== id)));
      await this.repo.removeUserRecord(account.id, id);
      return { proxiedFrom: node.alias, removed: target };
    });
  }

  private parseUserRecord(domain: string, input: UserRecordInput): ZoneRecord {
    let record: ZoneRecord;
    try {
      const name = typeof input.name === 'string' ? absoluteRecordName(domain, input.name) : input.name;
      record = validateZoneRecord(domain, { name, type: input.type, ttl: input.ttl ?? DEFAULT_TTL, content: input.content }, 'record');
    } catch (error) {
      throw asBodyFieldError(error);
    }
    const refusal = managedRecordRefusal(domain, record);
    if (refusal) throw new ValidationError(refusal.field, refusal.reason);
    return record;
  }

  // ---- the nodes' IPv6 addresses

  /** Sets (or with null clears) the IPv6 address a node answers on, then re-pushes the zones of every DNS node. */
  async setNodeIpv6(principal: Principal, alias: string, address: string | null): Promise<{ alias: string; ipv6: string | null }> {
    if (principal.role !== 'admin') throw new ForbiddenError(`a node's addresses are the admin's to set; you are ${principal.role} '${principal.username}'`);
    assertValid('alias', alias, checkAlias);
    if (address !== null) assertValid('address', address, checkIpv6);
    const node = await this.nodes.byAlias(alias);
    if (!node) throw new NotFoundError('node', alias);
    await this.repo.setNodeIpv6(node.id, address);
    // Any zone may name this node (site, mail, name server); a node that is not ready catches up in its data sync.
    for (const dnsNode of await this.nodes.list()) {
      if (isServing(dnsNode.status)) await this.syncNode(dnsNode);
    }
    return { alias, ipv6: address };
  }
}
