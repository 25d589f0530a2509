import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { principalOf } from '../auth/guards.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { WebService } from './web.service.ts';

const UserParams = Type.Object({ username: Type.String({ format: 'fp-username' }) });
const SiteOptions = Type.Object({ httpsRedirect: Type.Boolean({ description: 'plain HTTP answers every request with a 301 to the same URL over HTTPS' }) }, { additionalProperties: false });

export function registerWebRoutes(app: HttpApp, deps: { web: WebService; accounts: Pick<AccountsService, 'requireAccount' | 'nodeOf'> }): void {
  app.get(
    '/api/accounts/:username/web',
    { schema: { tags: ['web'], summary: "The options of the account's site", params: UserParams, response: { 200: SiteOptions } } },
    async (request) => {
      const account = await deps.accounts.requireAccount(principalOf(request), request.params.username, 'user');
      return { httpsRedirect: await deps.web.httpsRedirect(account) };
    },
  );

  app.put(
    '/api/accounts/:username/web',
    { schema: { tags: ['web'], summary: "Set the options of the account's site (its web node's nginx takes them before they are stored)", params: UserParams, body: SiteOptions, response: { 200: SiteOptions } } },
    async (request) => {
      const account = await deps.accounts.requireAccount(principalOf(request), request.params.username, 'user');
      await deps.web.setHttpsRedirect(account, await deps.accounts.nodeOf(account, 'web'), request.body.httpsRedirect, Date.now());
      return { httpsRedirect: request.body.httpsRedirect };
    },
  );
}
