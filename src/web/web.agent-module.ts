/**
 * The web workload on a node: the parent sends the sites and proxies the node should serve; the
 * node decides where their document roots live (below its own www folder). Every site runs PHP
 * in its account's own pool (src/php); a suspended account has no pool.
 */
import { rmSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import type { AgentModule } from '../agent/agent-module.ts';
import { requireDaemon } from '../agent/require-daemon.ts';
import { assertValid, checkUsername } from '../core/grammar.ts';
import { NginxDriver } from './nginx.driver.ts';
import { PHP_DAEMON, PhpPoolsDriver } from '../php/php-pools.driver.ts';
import { PlacedSites, applySites } from './apply-sites.ts';
import { WebStateChange, WebStateRequest, type WebStateApplied } from '../protocol/web-state.ts';
import { AppliedWebState, type WebStateStep } from './applied-web-state.ts';
import { stateRequestLine } from '../protocol/keyed-state.ts';
import { accountSystemUser, lookupUser } from '../php/system-users.ts';
import { SITE_ARCHIVE_TYPE, exportSite, importSite } from './site-archive.ts';
import type { Readable } from 'node:stream';

const SiteParams = Type.Object({ account: Type.String({ format: 'fp-username' }), domain: Type.String({ format: 'fp-domain' }) });

export const webAgentModule: AgentModule = {
  name: 'web',
  role: 'web',
  daemons: (ctx) => [new NginxDriver(ctx), new PhpPoolsDriver(ctx)],
  register(app, ctx) {
    const placed = new PlacedSites();
    const applied = new AppliedWebState();
    const requests = stateRequestLine(() => applied.forget());
    const apply = (stepOf: () => WebStateStep): Promise<WebStateApplied> =>
      requests(stepOf, (step) => applySites(requireDaemon<NginxDriver>(ctx, 'nginx', 'web'), requireDaemon<PhpPoolsDriver>(ctx, PHP_DAEMON, 'web'), step, placed));
    app.put('/v1/web/state', { schema: { body: WebStateRequest } }, (request) => apply(() => applied.whole(request.body)));
    app.patch('/v1/web/state', { schema: { body: WebStateChange } }, (request) => apply(() => applied.change(request.body)));

    app.delete('/v1/web/accounts/:account', { schema: { params: Type.Object({ account: Type.String({ format: 'fp-username' }) }) } }, async (request) => {
      const account = assertValid('account', request.params.account, checkUsername);
      const php = ctx.daemon<PhpPoolsDriver>(PHP_DAEMON);
      if (php) await php.removeAccount(account);
      rmSync(ctx.layout.www(account), { recursive: true, force: true });
      placed.forgetAccount(account);
      return { removed: account };
    });

    // A site's files as a tar stream (site-archive.ts): what an account transfer copies to a node of another pair.
    app.get('/v1/web/accounts/:account/sites/:domain/archive', { schema: { params: SiteParams } }, async (request, reply) =>
      reply.type(SITE_ARCHIVE_TYPE).send(exportSite(ctx.layout.www(request.params.account, request.params.domain), request.params.domain)),
    );
    app.register(async (scoped) => {
      scoped.addContentTypeParser(SITE_ARCHIVE_TYPE, (_request, payload, done) => done(null, payload));
      scoped.put('/v1/web/accounts/:account/sites/:domain/archive', { schema: { params: SiteParams } }, async (request) => {
        const { account, domain } = request.params as { account: string; domain: string };
        return importSite(ctx.layout.www(account, domain), lookupUser(accountSystemUser(ctx.layout.root, account)), request.body as Readable);
      });
    });
  },
};
