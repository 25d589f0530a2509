/**
 * How the DNS workload plugs into the parent: the DNS service joins the account workloads, a
 * joining or returning node gets its zones as a data-sync step, and the record routes. Mail
 * distribution calls `refreshZone` after a move.
 */
import type { Store } from '../store/database.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { WorkloadRegistry } from '../accounts/workload.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import { DnsRepository } from './dns.repository.ts';
import { DNS_SYNC_PRIORITY, DnsService, dnsAgentsOver } from './dns.service.ts';

export { registerDnsRoutes } from './dns.routes.ts';

export interface DnsDeps {
  db: Store;
  accounts: AccountsService;
  workloads: WorkloadRegistry;
  nodes: Pick<NodesService, 'addDataSyncStep'>;
  connections: NodeConnections;
}

export function buildDns(deps: DnsDeps): DnsService {
  const dns = new DnsService(new DnsRepository(deps.db), deps.accounts, new NodesRepository(deps.db), dnsAgentsOver(deps.connections));
  deps.workloads.register(dns);
  deps.nodes.addDataSyncStep({ name: 'dns', priority: DNS_SYNC_PRIORITY, sync: (node) => dns.syncNode(node) });
  return dns;
}
