/**
 * Puts a node's web state in place: each site's document root, its account's PHP pool and
 * nginx. Pools come first, so nginx never passes a request to a socket that is not there yet;
 * pools of suspended or removed accounts go last, once nginx no longer sends them anything.
 * Each daemon's check still comes before its reload; nginx's runs beside php-fpm's.
 */
import type { NginxDriver, PreparedWebState, WebApplyResult } from './nginx.driver.ts';
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

export async function applySites(nginx: Pick<NginxDriver, 'prepare' | 'ensureDocumentRoot'>, php: PhpPools, request: { sites: SiteRequest[]; proxies: WebProxy[] }): Promise<WebApplyResult> {
  const withPool = [...new Set(request.sites.filter((site) => !site.suspended).map((site) => site.account))];
  // nginx checks its candidate while php-fpm checks and takes the new pools: neither reads the
  // other's files, and nginx goes live (its reload) only once both passed.
  let prepared: PreparedWebState | undefined;
  try {
    await php.add(withPool, async () => {
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
      prepared = await nginx.prepare({ sites, proxies: request.proxies });
    });
  } catch (error) {
    prepared?.discard();
    throw error;
  }
  const result = await prepared!.commit();
  await php.apply(withPool);
  return result;
}
