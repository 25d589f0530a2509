/**
 * Wires the DNS workload into the parent: the account workload hooks, the data-sync step that
 * brings a joining or returning node its zones, and `ctx.dns` for `refreshZone` after mail moves.
 */
import type { ParentContext } from '../parent/parent-context.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import { DnsRepository } from './dns.repository.ts';
import { DNS_SYNC_PRIORITY, DnsService, dnsAgentsOver } from './dns.service.ts';

declare module '../parent/parent-context.ts' {
  interface ParentContext {
    /** `ctx.dns.refreshZone(account, { mailNode })` re-points an account's mail names after its mail moved */
    dns?: DnsService;
  }
}

export function attachDns(ctx: ParentContext): void {
  const dns = new DnsService(new DnsRepository(ctx.db), ctx.accounts, new NodesRepository(ctx.db), dnsAgentsOver(ctx.connections));
  ctx.workloads.register(dns);
  ctx.nodes.addDataSyncStep({ name: 'dns', priority: DNS_SYNC_PRIORITY, sync: (node) => dns.syncNode(node) });
  ctx.dns = dns;
}
