/**
 * The desired web workload of one node: which sites it serves and which host names it forwards
 * to another node. Everything here ends up inside nginx.conf, so it is checked with the strict
 * grammars before a single byte is written.
 */
import { ValidationError } from '../core/errors.ts';
import { assertValid, checkDomain, checkIpv4, checkIpv6, checkSafePath, checkUsername } from '../core/grammar.ts';
import { validatePhpSettings, type PhpSiteSettings } from '../php/php-settings.ts';

export interface WebSite {
  domain: string;
  account: string;
  /** Absolute, under the account's folder in layout.www(). */
  documentRoot: string;
  suspended: boolean;
  /** PHP through the account's own pool; absent = static files only. */
  php?: WebSitePhp;
}

export interface WebSitePhp {
  /** the account's php-fpm pool */
  socket: string;
  /** where the site's access, error and PHP error logs go (the account's logs/ folder) */
  logDir: string;
  settings: PhpSiteSettings;
}

export interface WebProxy {
  /** The host name to forward, such as webmail.example.com. */
  domain: string;
  /** The address of the node whose nginx serves that host name. */
  upstream: string;
}

export interface WebState {
  sites: WebSite[];
  proxies: WebProxy[];
}

export const checkNodeAddress = (value: string): string | null =>
  checkIpv4(value) === null || checkIpv6(value) === null ? null : 'must be an IPv4 or IPv6 address';

function assertRecord(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(field, 'must be an object');
  return value as Record<string, unknown>;
}

function assertArray(field: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new ValidationError(field, 'must be an array');
  return value;
}

/** Host names nginx answers for a site: the domain and its www. form. */
export function siteHostNames(site: Pick<WebSite, 'domain'>): string[] {
  return [site.domain, `www.${site.domain}`];
}

/**
 * Checks an untrusted value against the WebState shape and grammars and returns a copy holding
 * only the known fields. `wwwRoot` is layout.www(): a document root must lie below the folder of
 * its own account there, so one account can never publish another account's files.
 */
export function validateWebState(input: unknown, wwwRoot: string): WebState {
  const state = assertRecord('state', input);
  const claimedHosts = new Map<string, string>();
  const claim = (host: string, field: string): void => {
    const owner = claimedHosts.get(host);
    if (owner !== undefined) throw new ValidationError(field, `host name '${host}' is already used by ${owner}`);
    claimedHosts.set(host, field);
  };

  const sites = assertArray('sites', state.sites).map((raw, index): WebSite => {
    const at = `sites[${index}]`;
    const site = assertRecord(at, raw);
    const domain = assertValid(`${at}.domain`, site.domain, checkDomain);
    // www.<domain> must itself be a valid name (length limits), or nginx would get a name DNS cannot hold.
    assertValid(`${at}.domain`, `www.${domain}`, checkDomain);
    const account = assertValid(`${at}.account`, site.account, checkUsername);
    const documentRoot = assertValid(`${at}.documentRoot`, site.documentRoot, checkSafePath);
    const accountFolder = `${wwwRoot}/${account}/`;
    if (!documentRoot.startsWith(accountFolder)) {
      throw new ValidationError(`${at}.documentRoot`, `must lie below ${accountFolder}`);
    }
    if (typeof site.suspended !== 'boolean') throw new ValidationError(`${at}.suspended`, 'must be true or false');
    for (const host of siteHostNames({ domain })) claim(host, `${at}.domain`);
    if (site.php === undefined) return { domain, account, documentRoot, suspended: site.suspended };
    const php = assertRecord(`${at}.php`, site.php);
    const logDir = assertValid(`${at}.php.logDir`, php.logDir, checkSafePath);
    if (!logDir.startsWith(accountFolder)) throw new ValidationError(`${at}.php.logDir`, `must lie below ${accountFolder}`);
    return {
      domain,
      account,
      documentRoot,
      suspended: site.suspended,
      php: { socket: assertValid(`${at}.php.socket`, php.socket, checkSafePath), logDir, settings: validatePhpSettings(`${at}.php.settings`, php.settings) },
    };
  });

  const proxies = assertArray('proxies', state.proxies).map((raw, index): WebProxy => {
    const at = `proxies[${index}]`;
    const proxy = assertRecord(at, raw);
    const domain = assertValid(`${at}.domain`, proxy.domain, checkDomain);
    const upstream = assertValid(`${at}.upstream`, proxy.upstream, checkNodeAddress);
    claim(domain, `${at}.domain`);
    return { domain, upstream };
  });

  return { sites, proxies };
}
