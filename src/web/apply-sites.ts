/**
 * Puts a node's web state in place: each site's document root, its account's PHP pool and
 * nginx. Pools come first, so nginx never passes a request to a socket that is not there yet;
 * pools of suspended or removed accounts go last, once nginx no longer sends them anything.
 */
import type { NginxDriver, WebApplyResult } from './nginx.driver.ts';
import type { WebProxy } from '../protocol/web-state.ts';
import type { PhpPools } from '../php/php-pools.driver.ts';
import { DEFAULT_PHP_SETTINGS, type PhpSiteSettings } from '../php/php-settings.ts';

export interface SiteRequest {
  domain: string;
  account: string;
  suspended: boolean;
  httpsRedirect?: boolean;
  php?: PhpSiteSettings;
  /** served by another node meanwhile (WebSiteRequest.forwardTo) */
  forwardTo?: string;
}

export async function applySites(nginx: Pick<NginxDriver, 'apply' | 'ensureDocumentRoot'>, php: PhpPools, request: { sites: SiteRequest[]; proxies: WebProxy[] }): Promise<WebApplyResult> {
  const withPool = [...new Set(request.sites.filter((site) => !site.suspended).map((site) => site.account))];
  await php.add(withPool);
  const sites = [];
  for (const site of request.sites) {
    const fresh = !(await php.hasHome(site.account, site.domain));
    const documentRoot = nginx.ensureDocumentRoot(site.account, site.domain);
    // A new site's files belong to the account, so its PHP can write them (uploads, plugins).
    if (fresh && withPool.includes(site.account)) await php.giveToAccount(site.account, documentRoot.slice(0, documentRoot.lastIndexOf('/')));
    sites.push({
      domain: site.domain,
      account: site.account,
      suspended: site.suspended,
      ...(site.httpsRedirect === true ? { httpsRedirect: true } : {}),
      documentRoot,
      php: { socket: php.socketOf(site.account), logDir: `${php.homeOf(site.account)}/logs`, settings: site.php ?? DEFAULT_PHP_SETTINGS },
      ...(site.forwardTo === undefined ? {} : { forwardTo: site.forwardTo }),
    });
  }
  const result = await nginx.apply({ sites, proxies: request.proxies });
  await php.apply(withPool);
  return result;
}
