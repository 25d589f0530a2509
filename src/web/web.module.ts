/**
 * Wires the web workload into the parent: the account workload hooks, the data-sync step that
 * brings a joining or returning node its sites, and `ctx.web` for services that add proxies.
 */
import type { ParentContext } from '../parent/parent-context.ts';
import { WebRepository } from './web.repository.ts';
import { WEB_SYNC_PRIORITY, WebService, webAgentsOver } from './web.service.ts';

declare module '../parent/parent-context.ts' {
  interface ParentContext {
    /** `ctx.web.addProxyProvider(name, provider)` then `ctx.web.pushNode(node)` to proxy host names through a node's nginx */
    web?: WebService;
  }
}

export function attachWeb(ctx: ParentContext): void {
  const web = new WebService(new WebRepository(ctx.db), webAgentsOver(ctx.connections));
  ctx.workloads.register(web);
  ctx.nodes.addDataSyncStep({ name: 'web', priority: WEB_SYNC_PRIORITY, sync: (node) => web.syncNode(node) });
  ctx.web = web;
}
