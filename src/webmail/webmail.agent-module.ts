/**
 * Webmail on every node with the mail role: Roundcube on a php-fpm instance of the node, served
 * by the node's nginx as webmail.<domain> for the mail domains the node holds. A node also in
 * the web role already runs that nginx on :80 of its address; a mail-only node (a MAIL-profile
 * child) gets the same nginx instance from this module, with no sites, so there is always
 * exactly one nginx per address and adding the web role later changes nothing here.
 */
import type { AgentModule } from '../agent/agent-module.ts';
import type { DaemonDriver } from '../agent/driver.ts';
import { NginxDriver } from '../web/nginx.driver.ts';
import { mailDriverOf } from '../mail/mail.agent-module.ts';
import { WEBMAIL_DAEMON, WebmailDriver } from './webmail.driver.ts';

export const webmailAgentModule: AgentModule = {
  name: 'webmail',
  role: 'mail',
  daemons: (ctx) => {
    const webmail = new WebmailDriver(ctx, {
      nginx: () => ctx.daemon<NginxDriver>('nginx'),
      // Domains proxied to another node are answered there; the parent forwards their webmail host.
      heldDomains: () => (mailDriverOf(ctx)?.appliedState().domains ?? []).filter((domain) => domain.proxyTo === undefined).map((domain) => domain.domain),
    });
    const daemons: DaemonDriver[] = [];
    if (!ctx.roles().includes('web')) daemons.push(new NginxDriver(ctx));
    daemons.push(webmail);
    return daemons;
  },
  register(app, ctx) {
    app.get('/v1/webmail/status', async () => {
      const webmail = ctx.daemon<WebmailDriver>(WEBMAIL_DAEMON);
      return { running: webmail !== undefined && (await webmail.status()).running };
    });
    // The parent asks for this after every mail state it pushed here: webmail.<domain> appears and
    // disappears with the domain's mailboxes on this node.
    app.post('/v1/webmail/refresh', async () => {
      const webmail = ctx.daemon<WebmailDriver>(WEBMAIL_DAEMON);
      return webmail ? webmail.refreshServers() : { changed: false };
    });
  },
};
