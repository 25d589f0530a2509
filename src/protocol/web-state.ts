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
import { StateBase, collectionChangeSchema, type StateShape } from './keyed-state.ts';

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

/** PUT /v1/web/state: the node's whole web state (a node that joins or returns, a repair, an agent that lost track). */
export const WebStateRequest = Type.Object({
  sites: Type.Array(WebSiteRequest, { maxItems: 100_000 }),
  proxies: Type.Array(WebProxy, { maxItems: 100_000 }),
});
export type WebStateRequest = Static<typeof WebStateRequest>;

/**
 * PATCH /v1/web/state: what changed since the state whose digest is `base` (keyed-state.ts). Sites
 * and proxies are keyed by their domain: an item put replaces the one of its domain. An agent
 * whose state is not `base` refuses the whole change (409), and the parent sends the whole state.
 */
export const WebStateChange = Type.Object({
  base: StateBase,
  sites: collectionChangeSchema(WebSiteRequest, Type.String({ format: 'fp-domain' })),
  proxies: collectionChangeSchema(WebProxy, Type.String({ format: 'fp-domain' })),
});
export type WebStateChange = Static<typeof WebStateChange>;

/** The answer to either: whether nginx's files changed, and the digest of the state the node now serves. */
export interface WebStateApplied {
  changed: boolean;
  digest: string;
}

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

/** Every host name served once: each name comes with the field that asks for it, the first one keeps it. */
export function checkHostNamesServedOnce(hosts: Iterable<readonly [host: string, field: string]>): void {
  const claimedHosts = new Map<string, string>();
  for (const [host, field] of hosts) {
    const owner = claimedHosts.get(host);
    if (owner !== undefined) throw new ValidationError(field, `host name '${host}' is already used by ${owner}`);
    claimedHosts.set(host, field);
  }
}

/** The host names of a state's sites and proxies, each with its field (`sites[2].domain`). */
export function* hostsOf(state: { sites: readonly Pick<WebSite, 'domain'>[]; proxies: readonly Pick<WebProxy, 'domain'>[] }): Generator<readonly [string, string]> {
  for (const [index, site] of state.sites.entries()) for (const host of siteHostNames(site)) yield [host, `sites[${index}].domain`];
  for (const [index, proxy] of state.proxies.entries()) yield [proxy.domain, `proxies[${index}].domain`];
}

/** Rules across the fields of each site: roots below the own account's folder, a www. form DNS can hold. */
function checkSiteRules(state: WebState, wwwRoot: string): void {
  state.sites.forEach((site, index) => {
    const at = `sites[${index}]`;
    // www.<domain> must itself be a valid name (length limits), or nginx would get a name DNS cannot hold.
    const www = checkDomain(`www.${site.domain}`);
    if (www !== null) throw new ValidationError(`${at}.domain`, www);
    const accountFolder = `${wwwRoot}/${site.account}/`;
    if (!site.documentRoot.startsWith(accountFolder)) throw new ValidationError(`${at}.documentRoot`, `must lie below ${accountFolder}`);
    if (site.php !== undefined && !site.php.logDir.startsWith(accountFolder)) throw new ValidationError(`${at}.php.logDir`, `must lie below ${accountFolder}`);
  });
}

/**
 * Checks an untrusted value against the WebState schema and rules and returns a copy holding only
 * the known fields. `wwwRoot` is layout.www(): a document root must lie below the folder of its
 * own account there, so one account can never publish another account's files.
 */
export function validateWebState(input: unknown, wwwRoot: string): WebState {
  const state = validateWebStateItems(input, wwwRoot);
  checkHostNamesServedOnce(hostsOf(state));
  return state;
}

/**
 * validateWebState without the rule across items (every host name served once): for the items
 * a change puts, whose names the caller checks against the whole state it keeps.
 */
export function validateWebStateItems(input: unknown, wwwRoot: string): WebState {
  const state = checkSchema(WebState, input, { root: 'state' });
  checkSiteRules(state, wwwRoot);
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

/**
 * A site as one item of the state digest (state-digest.ts): its fields in a fixed order, an
 * absent option and its default alike, so the parent's row and the agent's copy hash the same.
 */
function webSiteItem(site: WebSiteRequest): string {
  const php = site.php === undefined ? null : [site.php.memoryLimitMb, site.php.uploadMaxMb, site.php.maxExecutionSeconds];
  return JSON.stringify(['site', site.domain, site.account, site.suspended, site.httpsRedirect === true, php, site.forwardTo ?? null]);
}

function webProxyItem(proxy: WebProxy): string {
  return JSON.stringify(['proxy', proxy.domain, proxy.upstream]);
}

export const WEB_STATE_SHAPE: StateShape<WebStateRequest> = {
  sites: { key: (site) => site.domain, text: webSiteItem },
  proxies: { key: (proxy) => proxy.domain, text: webProxyItem },
};
