/**
 * The web workload of one node: the sites it serves and the host names it forwards to another
 * node. The parent sends sites without document roots (the node decides those, below its own www
 * folder); the node's nginx driver checks the whole state, roots included, before a byte of
 * nginx.conf is written.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ValidationError } from '../core/errors.ts';
import { checkDomain } from '../core/grammar.ts';
import { checkSchema } from './schema-check.ts';

export const WebProxy = Type.Object({
  /** The host name to forward, such as webmail.example.com. */
  domain: Type.String({ format: 'fp-domain' }),
  /** The address of the node whose nginx serves that host name. */
  upstream: Type.String({ format: 'fp-node-address' }),
});
export type WebProxy = Static<typeof WebProxy>;

/** Bounds of a site's PHP settings, whatever the plan; a plan's limits cap them further at the parent. */
export const PHP_SETTING_BOUNDS = {
  memoryLimitMb: [16, 4096],
  uploadMaxMb: [1, 4096],
  maxExecutionSeconds: [1, 3600],
} as const satisfies Record<string, readonly [number, number]>;

const phpSetting = ([min, max]: readonly [number, number]) => Type.Integer({ minimum: min, maximum: max, reason: `must be a whole number from ${min} to ${max}` });

/** A site's PHP limits; they reach php-fpm as PHP_ADMIN_VALUE lines from the site's server block. */
export const PhpSiteSettings = Type.Object({
  memoryLimitMb: phpSetting(PHP_SETTING_BOUNDS.memoryLimitMb),
  uploadMaxMb: phpSetting(PHP_SETTING_BOUNDS.uploadMaxMb),
  maxExecutionSeconds: phpSetting(PHP_SETTING_BOUNDS.maxExecutionSeconds),
});
export type PhpSiteSettings = Static<typeof PhpSiteSettings>;

const SiteForwardTo = Type.String({ format: 'fp-node-address' });

/** A site as the parent sends it. */
export const WebSiteRequest = Type.Object({
  domain: Type.String({ format: 'fp-domain' }),
  account: Type.String({ format: 'fp-username' }),
  suspended: Type.Boolean(),
  /** plain HTTP answers with a permanent redirect to HTTPS; absent = both serve the site */
  httpsRedirect: Type.Optional(Type.Boolean()),
  /** the site's PHP limits, already held to the plan's by the parent; absent = the defaults */
  php: Type.Optional(Type.Object({ memoryLimitMb: Type.Integer(), uploadMaxMb: Type.Integer(), maxExecutionSeconds: Type.Integer() })),
  /** the site moved to the node at this address (an account transfer): every request goes there, Host kept; its files stay here until the site is removed */
  forwardTo: Type.Optional(SiteForwardTo),
});
export type WebSiteRequest = Static<typeof WebSiteRequest>;

/** PUT /v1/web/state */
export const WebStateRequest = Type.Object({
  sites: Type.Array(WebSiteRequest, { maxItems: 100_000 }),
  proxies: Type.Array(WebProxy, { maxItems: 100_000 }),
});
export type WebStateRequest = Static<typeof WebStateRequest>;

export const WebSitePhp = Type.Object({
  /** the account's php-fpm pool */
  socket: Type.String({ format: 'fp-path' }),
  /** where the site's access, error and PHP error logs go (the account's logs/ folder) */
  logDir: Type.String({ format: 'fp-path' }),
  settings: PhpSiteSettings,
});
export type WebSitePhp = Static<typeof WebSitePhp>;

/** A site as the node serves it. */
export const WebSite = Type.Object({
  domain: Type.String({ format: 'fp-domain' }),
  account: Type.String({ format: 'fp-username' }),
  /** Absolute, under the account's folder in layout.www(). */
  documentRoot: Type.String({ format: 'fp-path' }),
  suspended: Type.Boolean(),
  /** plain HTTP answers with a permanent redirect to HTTPS */
  httpsRedirect: Type.Optional(Type.Boolean()),
  /** PHP through the account's own pool; absent = static files only. */
  php: Type.Optional(WebSitePhp),
  /** served by the node at this address meanwhile: requests are forwarded there, Host kept */
  forwardTo: Type.Optional(SiteForwardTo),
});
export type WebSite = Static<typeof WebSite>;

export const WebState = Type.Object({ sites: Type.Array(WebSite), proxies: Type.Array(WebProxy) });
export type WebState = Static<typeof WebState>;

/** Host names nginx answers for a site: the domain and its www. form. */
export function siteHostNames(site: Pick<WebSite, 'domain'>): string[] {
  return [site.domain, `www.${site.domain}`];
}

/** Rules across fields and items: roots below the own account's folder, every host name served once. */
function checkWebStateRules(state: WebState, wwwRoot: string): void {
  const claimedHosts = new Map<string, string>();
  const claim = (host: string, field: string): void => {
    const owner = claimedHosts.get(host);
    if (owner !== undefined) throw new ValidationError(field, `host name '${host}' is already used by ${owner}`);
    claimedHosts.set(host, field);
  };
  state.sites.forEach((site, index) => {
    const at = `sites[${index}]`;
    // www.<domain> must itself be a valid name (length limits), or nginx would get a name DNS cannot hold.
    const www = checkDomain(`www.${site.domain}`);
    if (www !== null) throw new ValidationError(`${at}.domain`, www);
    const accountFolder = `${wwwRoot}/${site.account}/`;
    if (!site.documentRoot.startsWith(accountFolder)) throw new ValidationError(`${at}.documentRoot`, `must lie below ${accountFolder}`);
    for (const host of siteHostNames(site)) claim(host, `${at}.domain`);
    if (site.php !== undefined && !site.php.logDir.startsWith(accountFolder)) throw new ValidationError(`${at}.php.logDir`, `must lie below ${accountFolder}`);
  });
  state.proxies.forEach((proxy, index) => claim(proxy.domain, `proxies[${index}].domain`));
}

/**
 * Checks an untrusted value against the WebState schema and rules and returns a copy holding only
 * the known fields. `wwwRoot` is layout.www(): a document root must lie below the folder of its
 * own account there, so one account can never publish another account's files.
 */
export function validateWebState(input: unknown, wwwRoot: string): WebState {
  const state = checkSchema(WebState, input, { root: 'state' });
  checkWebStateRules(state, wwwRoot);
  return {
    sites: state.sites.map(({ domain, account, documentRoot, suspended, httpsRedirect, php, forwardTo }) => ({
      domain,
      account,
      documentRoot,
      suspended,
      ...(httpsRedirect === true ? { httpsRedirect } : {}),
      ...(php === undefined ? {} : { php: { socket: php.socket, logDir: php.logDir, settings: { ...php.settings } } }),
      ...(forwardTo === undefined ? {} : { forwardTo }),
    })),
    proxies: state.proxies.map(({ domain, upstream }) => ({ domain, upstream })),
  };
}
