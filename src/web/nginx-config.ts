/**
 * nginx.conf for one node's nginx instance, as a pure function of validated input. Several
 * instances share one machine in the local cluster, so every path the instance writes (pid,
 * logs, temp folders) lies under the node's own root and every listener names the node address.
 */
import { ValidationError } from '../core/errors.ts';
import { assertValid, checkSafePath } from '../core/grammar.ts';
import { checkNodeAddress } from '../protocol/formats.ts';
import { siteHostNames, type WebProxy, type WebSite, type WebSitePhp, type WebState } from '../protocol/web-state.ts';
import { DEFAULT_PHP_SETTINGS, phpAdminValues, sameSettings } from '../php/php-settings.ts';
import { nginxCertificateMap } from '../agent/tls-files.ts';

export interface NginxPaths {
  pidFile: string;
  errorLog: string;
  accessLog: string;
  /** Folder that receives client_body, proxy, fastcgi, uwsgi and scgi temp folders. */
  tempDir: string;
  /** The node's self-signed certificate and its key, in one file */
  certificate: string;
  mimeTypes: string;
  /**
   * Folder of extra server blocks other agent modules write (webmail). One nginx per node address
   * must serve every host name on :80, so they join this instance rather than run their own.
   */
  extraServersDir: string;
  /** nginx's packaged FastCGI parameters */
  fastcgiParams: string;
  /** The entries of the certificate map (agent/tls-files.ts nginxCertificateMap); a host without one gets the node's certificate. */
  tlsIncludeDir: string;
  /**
   * One file per site and per forwarded host (serverFileName), included by nginx.conf: a change
   * to one account rewrites its own file only, not a file as long as the node's site list.
   */
  sitesDir: string;
  /**
   * Where the PHP module keeps an account's home (`<homesDir>/<account>`: its sites and logs/)
   * and its pool's socket (`<phpSocketsDir>/<account>.sock`). A site whose paths are these gets
   * them from the http level (phpDefaultsAtHttpLevel) instead of lines of its own.
   */
  homesDir: string;
  phpSocketsDir: string;
}

export interface NginxConfigInput {
  address: string;
  paths: NginxPaths;
  /** Worker user when the master runs as root; omitted when nginx runs unprivileged. */
  workerUser?: string;
  state: WebState;
}

/** A system account name such as www-data (the account grammar refuses the hyphen). */
const checkSystemUser = (value: string): string | null =>
  /^[a-z_][a-z0-9_-]{0,31}$/.test(value) ? null : 'must be a system user name such as www-data';

export const SUSPENSION_STATUS = 503;
export const SUSPENSION_PAGE =
  '<!doctype html><html><head><title>Account suspended</title></head>' +
  '<body><h1>Account suspended</h1><p>This account is suspended. Please contact your hosting provider.</p></body></html>';

/** nginx needs IPv6 addresses in brackets in listen and proxy_pass. */
function hostPart(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

function indent(lines: string[], depth: number): string[] {
  const pad = '    '.repeat(depth);
  return lines.map((line) => (line === '' ? '' : pad + line));
}

function listenLines(address: string, defaultServer: boolean, ports: 'both' | 'https' = 'both'): string[] {
  const suffix = defaultServer ? ' default_server' : '';
  const host = hostPart(address);
  return [...(ports === 'both' ? [`listen ${host}:80${suffix};`] : []), `listen ${host}:443 ssl${suffix};`];
}

/** Plain HTTP of a site that asked for HTTPS only: every request goes to the same URL over HTTPS. */
function httpsRedirectServer(address: string, hosts: string[]): string[] {
  const body = [`listen ${hostPart(address)}:80;`, `server_name ${hosts.join(' ')};`, 'location / {', ...indent(['return 301 https://$host$request_uri;'], 1), '}'];
  return ['server {', ...indent(body, 1), '}'];
}

/** Headers the node behind us needs: it picks the site by Host, and sees our address as the peer. */
function forwardingLines(address: string): string[] {
  return [
    'proxy_set_header Host $host;',
    'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    `proxy_bind ${address};`,
  ];
}

/**
 * A site that moved to another node (an account transfer, until this copy is removed): each
 * port goes to the same port there, so the new node's own HTTPS redirect and certificate apply
 * as if it were asked directly (plain HTTP to its :80 would answer an HTTPS visitor with a
 * redirect back here, for ever). The TLS hop is not verified: the new node may serve its
 * self-signed certificate until its own one for the domain is issued. The body size is left to
 * the new node, which enforces the site's upload limit, and is streamed to it as it arrives.
 */
function forwardedSiteServers(address: string, hosts: string[], upstream: string): string[] {
  const server = (listen: string, extra: string[], pass: string[]): string[] => [
    'server {',
    ...indent([listen, `server_name ${hosts.join(' ')};`, ...extra, 'client_max_body_size 0;', 'location / {', ...indent([...pass, 'proxy_request_buffering off;', ...forwardingLines(address)], 1), '}'], 1),
    '}',
  ];
  return [
    ...server(`listen ${hostPart(address)}:80;`, [], [`proxy_pass http://${hostPart(upstream)}:80;`]),
    ...server(`listen ${hostPart(address)}:443 ssl;`, [], [`proxy_pass https://${hostPart(upstream)}:443;`, 'proxy_ssl_server_name on;', 'proxy_ssl_name $host;']),
  ];
}

/** A string for a regular expression of nginx's (PCRE): the paths are checked already (checkSafePath), only the dot is special. */
function regexOf(path: string): string {
  return path.replace(/\./g, '\\.');
}

/**
 * What every PHP site has unless it says otherwise, derived at the http level from the document
 * root `<homesDir>/<account>/<domain>/public_html`: its pool's socket, and the default settings
 * with the site's own PHP error log. nginx parses a site's lines at every check and reload, and
 * at 2,000 sites the two `set` lines of each PHP location were an eighth of it (callgrind); two
 * maps here are parsed once. A map's value is looked up when a request needs it.
 */
function phpDefaultsAtHttpLevel(paths: NginxPaths): string[] {
  const site = `${regexOf(paths.homesDir)}/(?<fleetpanel_php_account>[^/]+)/(?<fleetpanel_php_domain>[^/]+)/public_html$`;
  const adminValues = phpAdminValues(DEFAULT_PHP_SETTINGS, `${paths.homesDir}/$fleetpanel_php_account/logs/$fleetpanel_php_domain.php-error.log`).join('\\n');
  return [
    `map $document_root $fleetpanel_php_socket { default ""; "~^${site}" unix:${paths.phpSocketsDir}/$fleetpanel_php_account.sock; }`,
    `map $document_root $fleetpanel_php_admin_value { default ""; "~^${site}" "${adminValues}"; }`,
    // A site's access log (siteAccessLogLine), below the homes folder; a worker opens it at each
    // write unless its descriptor is kept by the cache.
    `map $document_root $fleetpanel_site_access_log { default ""; "~^${site}" $fleetpanel_php_account/logs/$fleetpanel_php_domain.access.log; }`,
    'map $fleetpanel_site_access_log $fleetpanel_not_a_site { "" 1; default 0; }',
    'open_log_file_cache max=1000 inactive=20s valid=1m min_uses=1;',
    `fastcgi_read_timeout ${DEFAULT_PHP_SETTINGS.maxExecutionSeconds + PHP_READ_TIMEOUT_MARGIN_SECONDS}s;`,
  ];
}

/** nginx waits this much longer than PHP's own time limit before it gives up on a script. */
const PHP_READ_TIMEOUT_MARGIN_SECONDS = 30;

/** A site whose document root, pool socket and log folder are the ones the http level derives from the document root (phpDefaultsAtHttpLevel). */
function hasUsualPaths(site: { documentRoot: string; domain: string; account: string }, php: WebSitePhp, paths: NginxPaths): boolean {
  const { documentRoot, domain, account } = site;
  return documentRoot === `${paths.homesDir}/${account}/${domain}/public_html` && php.socket === `${paths.phpSocketsDir}/${account}.sock` && php.logDir === `${paths.homesDir}/${account}/logs`;
}

/**
 * A site with nothing of its own beyond its host names and document root: a PHP site, served,
 * at the usual paths with the default settings. Such sites share one server block (the default
 * server, sharedSitesServer) and each adds only entries to its map: at 2,000 sites the master's
 * parse of a server block and two locations per site was most of every reload's time.
 */
export function isSharedSite(site: WebSite, paths: NginxPaths): site is WebSite & { php: WebSitePhp } {
  return hasWorkerOpenedLog(site, paths) && sameSettings(site.php.settings, DEFAULT_PHP_SETTINGS) && !siteHostNames(site).some((host) => PATTERN_CLAIMED_HOST.test(host));
}

/**
 * Host names that another module's server block claims by a regular expression (webmail's one
 * block for every `webmail.<domain>`, src/webmail). nginx picks a server by an exact name before
 * any expression, and by an expression before the default server: a site with such a name keeps
 * a server block of its own, so its name stays exact and wins.
 */
const PATTERN_CLAIMED_HOST = /^webmail\./;

/**
 * A served PHP site at the usual paths, whose access log path the http level derives from its
 * document root (siteAccessLogLine): a worker opens it, not the master running as root, which
 * would follow a link the account put in its own logs folder to any file of the machine.
 */
export function hasWorkerOpenedLog(site: WebSite, paths: NginxPaths): site is WebSite & { php: WebSitePhp } {
  return site.forwardTo === undefined && !site.suspended && site.php !== undefined && hasUsualPaths(site, site.php, paths);
}

/** Where nginx writes a PHP site's access log: the http level derives the same path for a site that hasWorkerOpenedLog. */
export function siteAccessLog(site: { domain: string; php: Pick<WebSitePhp, 'logDir'> }): string {
  return `${site.php.logDir}/${site.domain}.access.log`;
}

/** The path starts with the folder: nginx would take one that starts with a variable as relative to its prefix. */
function siteAccessLogLine(paths: NginxPaths): string {
  return `access_log ${paths.homesDir}/$fleetpanel_site_access_log combined if=$fleetpanel_site_access_log;`;
}

/**
 * A site whose PHP runs in its account's pool: front-controller URLs (pretty permalinks) fall
 * back to /index.php, only existing .php files reach php-fpm, and the site's own limits and logs.
 * Its socket, settings and timeout are named here only where they differ from what the http level
 * derives from the document root (phpDefaultsAtHttpLevel).
 */
function phpSiteLines(site: { documentRoot: string; domain: string; account: string }, php: WebSitePhp, paths: NginxPaths): string[] {
  const usualPaths = hasUsualPaths(site, php, paths);
  const adminValues = phpAdminValues(php.settings, `${php.logDir}/${site.domain}.php-error.log`).join('\\n');
  // At other paths (none the agent makes), the logs are named as they are and opened by the master.
  const logs = usualPaths ? [siteAccessLogLine(paths)] : [`access_log ${siteAccessLog({ domain: site.domain, php })};`, `error_log ${php.logDir}/${site.domain}.error.log warn;`];
  return [
    `root ${site.documentRoot};`,
    ...logs,
    `client_max_body_size ${php.settings.uploadMaxMb + 8}m;`,
    ...phpLocations([
      // The FastCGI parameters themselves are named once, at the http level (renderNginxConfig).
      ...(usualPaths && sameSettings(php.settings, DEFAULT_PHP_SETTINGS) ? [] : [`set $fleetpanel_php_admin_value "${adminValues}";`]),
      ...(php.settings.maxExecutionSeconds === DEFAULT_PHP_SETTINGS.maxExecutionSeconds ? [] : [`fastcgi_read_timeout ${php.settings.maxExecutionSeconds + PHP_READ_TIMEOUT_MARGIN_SECONDS}s;`]),
      // Through a variable: a literal address is an upstream of its own, which nginx adds by
      // comparing it with every one before it, at each check and reload (quadratic in sites).
      ...(usualPaths ? [] : [`set $fleetpanel_php_socket unix:${php.socket};`]),
    ]),
  ];
}

/** The index and the two locations of a PHP site, with `phpLines` of its own before the pass to its pool. */
function phpLocations(phpLines: string[]): string[] {
  return [
    'index index.php index.html index.htm;',
    'location / {',
    ...indent(['try_files $uri $uri/ /index.php?$args;'], 1),
    '}',
    'location ~ \\.php$ {',
    ...indent(['try_files $uri =404;', ...phpLines, 'fastcgi_pass $fleetpanel_php_socket;'], 1),
    '}',
  ];
}

/** The shared server's map value for plain HTTP of a shared site that asked for HTTPS only. */
const HTTPS_ONLY = 'https-only';

/** A shared site's entries in the map `<scheme>:<host>` to its document root (sharedSitesServer). */
function renderSharedSite(site: WebSite): string {
  const hosts = siteHostNames(site);
  const entries = hosts.flatMap((host) => [`http:${host} ${site.httpsRedirect ? HTTPS_ONLY : site.documentRoot};`, `https:${host} ${site.documentRoot};`]);
  return `${[`# site ${site.domain} of account ${site.account}, in the shared server`, ...entries].join('\n')}\n`;
}

/**
 * The default server, which serves every shared site (isSharedSite) by the map of their host
 * names to document roots; each site's lines are its map entries (renderSharedSite), and nginx
 * looks one up per request instead of parsing a server block and two locations per site at every
 * reload. A host name no server and no map entry names gets no answer at all (444) rather than
 * some customer's site; over HTTPS after the handshake, in which it was shown the node's own
 * certificate.
 */
function sharedSitesServer(address: string, paths: NginxPaths, mapIncludes: readonly string[]): string[] {
  return [
    'map "$scheme:$host" $fleetpanel_site_root {',
    ...indent(['default "";', ...mapIncludes.map((include) => `include ${include};`)], 1),
    '}',
    '# Shared sites, and host names nobody serves.',
    'server {',
    ...indent(
      [
        ...listenLines(address, true),
        'server_name _;',
        'ssl_certificate $fleetpanel_certificate;',
        'ssl_certificate_key $fleetpanel_certificate;',
        'if ($fleetpanel_site_root = "") {',
        ...indent(['return 444;'], 1),
        '}',
        `if ($fleetpanel_site_root = ${HTTPS_ONLY}) {`,
        ...indent(['return 301 https://$host$request_uri;'], 1),
        '}',
        'root $fleetpanel_site_root;',
        siteAccessLogLine(paths),
        // What no site's log takes (host names nobody serves, redirects to HTTPS) goes where it went before.
        `access_log ${paths.accessLog} combined if=$fleetpanel_not_a_site;`,
        `client_max_body_size ${DEFAULT_PHP_SETTINGS.uploadMaxMb + 8}m;`,
        ...phpLocations([]),
      ],
      1,
    ),
    '}',
  ];
}

/**
 * The file of a site's server blocks, or a forwarded host's, in paths.sitesDir, or of a shared
 * site's map entries (grammar-checked domains make safe names).
 */
export function serverFileName(kind: 'site' | 'shared-site' | 'proxy', domain: string): string {
  return kind === 'shared-site' ? `site-${domain}${SHARED_SITE_SUFFIX}` : `${kind}-${domain}.conf`;
}

const SHARED_SITE_SUFFIX = '.map';

/** A file name that nginx.conf's globs include from a folder (server blocks, shared sites' map entries). */
export function isIncludedFileName(name: string): boolean {
  return !name.startsWith('.') && (name.endsWith('.conf') || name.endsWith(SHARED_SITE_SUFFIX));
}

/** A shared site's map file, or a candidate of one (`<name>.<tag>.candidate`), by its path. */
export function isSharedSiteFile(path: string): boolean {
  return /\.map(\.[\w-]+\.candidate)?$/.test(path);
}

function checkConfigInput(input: NginxConfigInput): void {
  assertValid('address', input.address, checkNodeAddress);
  for (const [name, path] of Object.entries(input.paths)) assertValid(`paths.${name}`, path, checkSafePath);
  if (input.workerUser !== undefined) assertValid('workerUser', input.workerUser, checkSystemUser);
}

/** The server block of one site (plus its port-80 redirect when it asked for HTTPS only). */
function renderSite(site: WebSite, index: number, address: string, paths: NginxPaths): string {
  const hosts = siteHostNames(site);
  if (site.forwardTo !== undefined) {
    const upstream = assertValid(`sites[${index}].forwardTo`, site.forwardTo, checkNodeAddress);
    if (upstream === address) throw new ValidationError(`sites[${index}].forwardTo`, 'must be another node: forwarding to this one would loop');
    const servers = forwardedSiteServers(address, hosts, upstream);
    return `${[`# site ${site.domain} of account ${site.account}, moved: forwarded to ${upstream}`, ...servers].join('\n')}\n`;
  }
  const body = [...listenLines(address, false, site.httpsRedirect ? 'https' : 'both'), `server_name ${hosts.join(' ')};`];
  if (site.suspended) {
    // Every path answers with the suspension page, so no customer content leaks while suspended.
    body.push(
      'default_type text/html;',
      'add_header Cache-Control "no-store" always;',
      'location / {',
      ...indent([`return ${SUSPENSION_STATUS} '${SUSPENSION_PAGE}';`], 1),
      '}',
    );
  } else if (site.php) {
    body.push(...phpSiteLines(site, site.php, paths));
  } else {
    body.push(`root ${site.documentRoot};`, 'index index.html index.htm;', 'location / {', ...indent(['try_files $uri $uri/ =404;'], 1), '}');
  }
  const lines = [`# site ${site.domain} of account ${site.account}`, 'server {', ...indent(body, 1), '}'];
  if (site.httpsRedirect) lines.push(...httpsRedirectServer(address, hosts));
  return `${lines.join('\n')}\n`;
}

function renderProxy(proxy: WebProxy, address: string): string {
  const body = [
    ...listenLines(address, false),
    `server_name ${proxy.domain};`,
    'location / {',
    ...indent(
      [
        `proxy_pass http://${hostPart(proxy.upstream)}:80;`,
        ...forwardingLines(address),
      ],
      1,
    ),
    '}',
  ];
  return `${[`# forwarded to node ${proxy.upstream}`, 'server {', ...indent(body, 1), '}'].join('\n')}\n`;
}

/** Every server file of the state, by file name in paths.sitesDir. */
export function renderServerFiles(input: NginxConfigInput): Map<string, string> {
  checkConfigInput(input);
  const { address, state } = input;
  const files = new Map<string, string>();
  for (const [index, site] of state.sites.entries()) {
    if (isSharedSite(site, input.paths)) files.set(serverFileName('shared-site', site.domain), renderSharedSite(site));
    else files.set(serverFileName('site', site.domain), renderSite(site, index, address, input.paths));
  }
  for (const proxy of state.proxies) files.set(serverFileName('proxy', proxy.domain), renderProxy(proxy, address));
  return files;
}

/**
 * nginx.conf itself: the instance's settings, the shared server and the includes of the server
 * files and shared sites' map files. For a candidate configuration that nginx checks before
 * anything moves, `includes` replaces the sites folder's globs with the files named one by one
 * (some of them not in place yet; isSharedSiteFile tells the two kinds apart), and
 * `extraServers` false leaves out the extra servers folder's glob.
 */
export function renderNginxConfig(
  input: Omit<NginxConfigInput, 'state'>,
  includes: readonly string[] = [`${input.paths.sitesDir}/*.conf`, `${input.paths.sitesDir}/*${SHARED_SITE_SUFFIX}`],
  extraServers = true,
): string {
  checkConfigInput({ ...input, state: { sites: [], proxies: [] } });
  const { address, paths } = input;
  const serverIncludes = includes.filter((path) => !isSharedSiteFile(path));
  const sharedSiteIncludes = includes.filter((path) => isSharedSiteFile(path));
  const tempPath = (kind: string): string => `${kind}_temp_path ${paths.tempDir}/${kind};`;
  const http: string[] = [
    `include ${paths.mimeTypes};`,
    'default_type application/octet-stream;',
    `access_log ${paths.accessLog};`,
    'sendfile on;',
    'server_tokens off;',
    tempPath('client_body'),
    tempPath('proxy'),
    tempPath('fastcgi'),
    tempPath('uwsgi'),
    tempPath('scgi'),
    // Only the default server names a certificate (below), so nginx builds one OpenSSL context,
    // not one per server block, and the server block that SNI picks picks the file to load.
    ...nginxCertificateMap({ nginxDir: paths.tlsIncludeDir }, paths.certificate),
    'ssl_protocols TLSv1.2 TLSv1.3;',
    // The FastCGI parameters of every PHP location (the sites', webmail's), named here once: nginx
    // parses the packaged file at each place that includes it, which in every PHP location was
    // most of the bytes of each check and reload at 2,000 sites. A location inherits them while it
    // names none itself. PHP_ADMIN_VALUE is a site's settings (phpDefaultsAtHttpLevel, or the
    // site's own `set`); a location of other PHP (webmail) gets none.
    ...phpDefaultsAtHttpLevel(paths),
    `include ${paths.fastcgiParams};`,
    'fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;',
    'fastcgi_param PHP_ADMIN_VALUE $fleetpanel_php_admin_value if_not_empty;',
    // A bucket must hold the longest name: `www.` and a domain of 253 characters (the shared
    // server's map keys add `https:`; a smaller bucket refused such a site at the check). The
    // default largest hash (512) cannot hold a node's thousands of names: nginx then searched
    // every size up to it and logged that it could not build the hash at each check and reload.
    'server_names_hash_bucket_size 512;',
    'server_names_hash_max_size 65536;',
    '',
    ...sharedSitesServer(address, paths, sharedSiteIncludes),
    '',
    '# sites and forwarded hosts, one file each',
    ...serverIncludes.map((include) => `include ${include};`),
    // A glob that matches nothing is accepted by nginx, so the folder may be empty or missing.
    ...(extraServers ? ['', '# server blocks written by other modules of this node (webmail)', `include ${paths.extraServersDir}/*.conf;`] : []),
  ];

  const lines = [
    '# Written by the Fleetpanel agent; changes here are overwritten.',
    ...(input.workerUser !== undefined ? [`user ${input.workerUser};`] : []),
    'worker_processes 1;',
    `pid ${paths.pidFile};`,
    `error_log ${paths.errorLog} warn;`,
    '',
    'events {',
    ...indent(['worker_connections 512;'], 1),
    '}',
    '',
    'http {',
    ...indent(http, 1),
    '}',
    '',
  ];
  return lines.join('\n');
}
