/**
 * The web workload on a node: the parent sends the sites and proxies the node should serve; the
 * node decides where their document roots live (below its own www folder).
 */
import { rmSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import type { AgentModule } from '../agent/agent-module.ts';
import { requireDaemon } from '../agent/require-daemon.ts';
import { assertValid, checkUsername } from '../core/grammar.ts';
import { NginxDriver } from './nginx.driver.ts';

const SiteRequest = Type.Object({
  domain: Type.String({ format: 'fp-domain' }),
  account: Type.String({ format: 'fp-username' }),
  suspended: Type.Boolean(),
});

export const webAgentModule: AgentModule = {
  name: 'web',
  role: 'web',
  daemons: (ctx) => [new NginxDriver(ctx)],
  register(app, ctx) {
    app.put(
      '/v1/web/state',
      {
        schema: {
          body: Type.Object({
            sites: Type.Array(SiteRequest, { maxItems: 100_000 }),
            proxies: Type.Array(Type.Object({ domain: Type.String({ format: 'fp-domain' }), upstream: Type.String({ format: 'fp-ipv4' }) }), { maxItems: 100_000 }),
          }),
        },
      },
      async (request) => {
        const nginx = requireDaemon<NginxDriver>(ctx, 'nginx', 'web');
        const sites = request.body.sites.map((site) => ({ ...site, documentRoot: nginx.ensureDocumentRoot(site.account, site.domain) }));
        return nginx.apply({ sites, proxies: request.body.proxies });
      },
    );

    app.delete('/v1/web/accounts/:account', { schema: { params: Type.Object({ account: Type.String({ format: 'fp-username' }) }) } }, async (request) => {
      const account = assertValid('account', request.params.account, checkUsername);
      rmSync(ctx.layout.www(account), { recursive: true, force: true });
      return { removed: account };
    });
  },
};
