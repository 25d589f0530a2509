/**
 * Puts a node's web state in place: each site's document root, its account's PHP pool and
 * nginx. Pools come first, so nginx never passes a request to a socket that is not there yet;
 * pools of suspended or removed accounts go last, once nginx no longer sends them anything.
 * Each daemon's check still comes before its reload; nginx's runs beside php-fpm's. A change
 * that only adds sites and proxies reloads nginx beside php-fpm too (see applySites).
 */
import type { NginxDriver, PreparedWebState, WebApplyResult } from './nginx.driver.ts';
import type { WebStateStep } from './applied-web-state.ts';
import type { PhpPools } from '../php/php-pools.driver.ts';
import { DEFAULT_PHP_SETTINGS, sameSettings, type PhpSiteSettings } from '../php/php-settings.ts';

export interface SiteRequest {
  domain: string;
  account: string;
  suspended: boolean;
  httpsRedirect?: boolean;
  php?: PhpSiteSettings;
  /** served by another node meanwhile (WebSiteRequest.forwardTo) */
  forwardTo?: string;
}

/**
 * The sites whose folders this agent has put in place (`account/domain`), so that a push of the
 * node's whole state looks at the folders of its new sites alone rather than at thousands; an
 * account's entries go with its files (forgetAccount).
 */
export class PlacedSites {
  private readonly sites = new Set<string>();

  has(account: string, domain: string): boolean {
    return this.sites.has(`${account}/${domain}`);
  }

  add(account: string, domain: string): void {
    this.sites.add(`${account}/${domain}`);
  }

  forgetAccount(account: string): void {
    for (const key of this.sites) if (key.startsWith(`${account}/`)) this.sites.delete(key);
  }
}

/**
 * `step.state` is the whole state the node should serve after the request; a change
 * (`step.change`) puts up and checks the files of its own sites and proxies alone, and takes pools
 * down only when an account whose site it replaced or removed no longer has a site to serve.
 */
export async function applySites(
  nginx: Pick<NginxDriver, 'prepare' | 'prepareChange' | 'ensureDocumentRoot' | 'documentRootOf'>,
  php: PhpPools,
  step: Pick<WebStateStep, 'state' | 'change' | 'replaced'>,
  placed = new PlacedSites(),
): Promise<WebApplyResult> {
  const { state, change } = step;
  const withPool = [...new Set(state.sites.filter((site) => !site.suspended).map((site) => site.account))];
  const pooled = new Set(withPool);
  const sitesToPlace = change ? change.sites.put : state.sites;
  // A change brings up the pools of the accounts whose sites it puts; the others run already.
  const poolsToAdd = change ? [...new Set(sitesToPlace.filter((site) => !site.suspended).map((site) => site.account))] : withPool;
  // nginx checks its candidate while php-fpm checks and takes the new pools: neither reads the
  // other's files, and nginx goes live (its reload) only once both passed. Unless the change only
  // adds (no site or proxy it puts replaces one, none removed): then nginx goes live as soon as
  // its check passed, beside php-fpm's reload, since nothing was served under those names that a
  // missing socket could break (a request there meanwhile gets 502 rather than no answer, before
  // the parent reports the site), and on a full node the two reloads are the longest steps of a
  // change. If php-fpm then fails, nginx goes back to what it served before.
  const onlyAdds = change !== undefined && step.replaced.sites.length === 0 && step.replaced.proxies.length === 0;
  let prepared: PreparedWebState | undefined;
  let result: WebApplyResult | undefined;
  try {
    await php.add(poolsToAdd, async () => {
      const sites = [];
      for (const site of sitesToPlace) {
        let documentRoot: string;
        if (placed.has(site.account, site.domain)) {
          documentRoot = nginx.documentRootOf(site.account, site.domain);
        } else {
          const fresh = !(await php.hasHome(site.account, site.domain));
          documentRoot = nginx.ensureDocumentRoot(site.account, site.domain);
          // A new site's files belong to the account, so its PHP can write them (uploads, plugins).
          if (fresh && pooled.has(site.account)) await php.giveToAccount(site.account, documentRoot.slice(0, documentRoot.lastIndexOf('/')));
          placed.add(site.account, site.domain);
        }
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
      prepared = change
        ? await nginx.prepareChange({ sites, proxies: change.proxies.put }, { sites: change.sites.removed, proxies: change.proxies.removed })
        : await nginx.prepare({ sites, proxies: state.proxies });
      if (onlyAdds) result = await prepared.commit();
    });
  } catch (error) {
    // What the caller reports is the change's own failure (nginx's driver logs a revert it could
    // not reload); the state the parent sends next (whole, after a failure) puts nginx right.
    if (result?.changed) await prepared!.revert().catch(() => undefined);
    else prepared?.discard();
    throw error;
  }
  result ??= await prepared!.commit();
  if (!change || step.replaced.sites.some((site) => !pooled.has(site.account))) await php.apply(withPool);
  const relimited = accountsWithNewLimits(step);
  if (relimited.length > 0) await php.recompileScripts(relimited);
  return result;
}

/**
 * The accounts of a change whose served sites' PHP limits differ from the ones they replace. A
 * whole state names no such thing: the masters it finds running may have compiled scripts under
 * other limits only if a change reached the parent while this agent was away.
 */
function accountsWithNewLimits(step: Pick<WebStateStep, 'change' | 'replaced'>): string[] {
  if (!step.change) return [];
  const before = new Map(step.replaced.sites.map((site) => [site.domain, site]));
  const limits = (site: SiteRequest): PhpSiteSettings => site.php ?? DEFAULT_PHP_SETTINGS;
  const accounts = step.change.sites.put.filter((site) => {
    const previous = before.get(site.domain);
    return previous !== undefined && !site.suspended && !previous.suspended && !sameSettings(limits(previous), limits(site));
  });
  return [...new Set(accounts.map((site) => site.account))];
}
