/**
 * The files behind one node's webmail, as pure functions of validated input: Roundcube's
 * config.inc.php, the php-fpm instance that runs it, and the nginx server block that serves
 * webmail.<domain> for the mail domains this node holds. Several nodes share one machine in the
 * local cluster, so every path (socket, pid, logs, database) lies under the node's own root.
 */
import { ValidationError } from '../core/errors.ts';
import { assertValid, checkDomain, checkSafePath } from '../core/grammar.ts';
import { checkNodeAddress } from '../protocol/formats.ts';
import { PHP_REQUEST_GRACE_SECONDS } from '../php/php-fpm-config.ts';

/** Debian's Roundcube: public_html holds index.php and the static files (skins, program/js). */
export const ROUNDCUBE_DOCUMENT_ROOT = '/var/lib/roundcube/public_html';
/**
 * Files of the package's config folder that every node's config folder links to: Roundcube
 * reads them from its config path, which is the node's folder only (see renderWebmailServer).
 */
export const ROUNDCUBE_PACKAGED_CONFIG = ['/etc/roundcube/defaults.inc.php', '/etc/roundcube/mimetypes.php'];
export const WEBMAIL_PRODUCT_NAME = 'Fleetpanel Webmail';

export interface WebmailPaths {
  /** Roundcube's config folder for this node (config.inc.php, defaults.inc.php link). */
  configDir: string;
  /** SQLite database, temp and log folders: written by www-data. */
  databaseFile: string;
  tempDir: string;
  logDir: string;
  phpFpmConfig: string;
  phpFpmPidFile: string;
  phpFpmErrorLog: string;
  phpFpmSocket: string;
  /** One empty file per mail domain held here, named after it: the domains renderWebmailServer answers for. */
  heldDomainsDir: string;
}

export interface RoundcubeConfigInput {
  address: string;
  paths: WebmailPaths;
  /** 24 characters, random per node: Roundcube encrypts the IMAP password in the session with it. */
  desKey: string;
}

/** A PHP single-quoted string literal; the inputs are checked already, this is the last guard. */
function phpString(value: string): string {
  if (/['\\\n\r]/.test(value)) throw new ValidationError({ message: `refusing to put ${JSON.stringify(value)} into PHP source` });
  return `'${value}'`;
}

function assertPaths(paths: WebmailPaths): void {
  for (const [name, path] of Object.entries(paths)) assertValid(`paths.${name}`, path, checkSafePath);
}

export function renderRoundcubeConfig(input: RoundcubeConfigInput): string {
  const { address, paths } = input;
  assertValid('address', address, checkNodeAddress);
  assertPaths(paths);
  if (!/^[A-Za-z0-9+/]{24}$/.test(input.desKey)) throw new ValidationError('desKey', 'must be 24 base64 characters');
  const host = address.includes(':') ? `[${address}]` : address;
  const lines = [
    '<?php',
    '// Written by the Fleetpanel agent; changes here are overwritten.',
    '$config = [];',
    `$config['db_dsnw'] = ${phpString(`sqlite:///${paths.databaseFile}?mode=0640`)};`,
    // The node's own Dovecot: it serves the domains held here and proxies the others itself. It
    // refuses plaintext logins without TLS, so STARTTLS; its certificate is the node's own
    // self-signed one, and the connection never leaves the node, hence no peer verification.
    `$config['imap_host'] = ${phpString(`tls://${host}:143`)};`,
    "$config['imap_conn_options'] = ['ssl' => ['verify_peer' => false, 'verify_peer_name' => false, 'allow_self_signed' => true]];",
    `$config['smtp_host'] = ${phpString(`${host}:25`)};`,
    // Port 25 of the node's Postfix takes local mail without authentication.
    "$config['smtp_user'] = '';",
    "$config['smtp_pass'] = '';",
    `$config['temp_dir'] = ${phpString(`${paths.tempDir}/`)};`,
    `$config['log_dir'] = ${phpString(`${paths.logDir}/`)};`,
    `$config['des_key'] = ${phpString(input.desKey)};`,
    `$config['product_name'] = ${phpString(WEBMAIL_PRODUCT_NAME)};`,
    "$config['support_url'] = '';",
    "$config['skin'] = 'elastic';",
    "$config['plugins'] = [];",
    "$config['enable_spellcheck'] = false;",
    // Users type their full address; no domain is appended.
    "$config['username_domain'] = '';",
    '',
  ];
  return lines.join('\n');
}

/**
 * @param user Roundcube's own user, which nothing else runs as
 * @param socketOwner nginx's workers, the only clients of the socket
 */
export function renderPhpFpmConfig(input: { paths: WebmailPaths; user: string; socketOwner: string }): string {
  assertPaths(input.paths);
  for (const field of ['user', 'socketOwner'] as const) {
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(input[field])) throw new ValidationError(field, 'must be a system user name');
  }
  const { paths } = input;
  return [
    '; Written by the Fleetpanel agent; changes here are overwritten.',
    '[global]',
    `pid = ${paths.phpFpmPidFile}`,
    `error_log = ${paths.phpFpmErrorLog}`,
    'daemonize = yes',
    // Sessions under way (a message being sent) finish at a reload, as the sites' do.
    `process_control_timeout = ${PHP_REQUEST_GRACE_SECONDS}s`,
    '',
    '[webmail]',
    `user = ${input.user}`,
    `group = ${input.user}`,
    `listen = ${paths.phpFpmSocket}`,
    `listen.owner = ${input.socketOwner}`,
    `listen.group = ${input.socketOwner}`,
    'listen.mode = 0660',
    'pm = ondemand',
    'pm.max_children = 8',
    'pm.process_idle_timeout = 30s',
    'catch_workers_output = yes',
    'php_admin_value[upload_max_filesize] = 25M',
    'php_admin_value[post_max_size] = 26M',
    'php_admin_flag[session.auto_start] = off',
    // Both: RCUBE_CONFIG_PATH picks the folder, ROUNDCUBE_CONFIG_DIR keeps Debian's /etc/roundcube
    // from being appended after it (its config.inc.php would win). Roundcube reads them with getenv().
    `env[RCUBE_CONFIG_PATH] = ${paths.configDir}/`,
    `env[ROUNDCUBE_CONFIG_DIR] = ${paths.configDir}`,
    '',
  ].join('\n');
}

/** The one server file of webmail among the node's extra server blocks (renderWebmailServer). */
export const WEBMAIL_SERVER_FILE = 'webmail.conf';

/**
 * Whether a file of the node's extra servers folder is webmail's: its one file, or one of the
 * `webmail.<domain>.conf` of the versions that wrote a server block per host, which go when the
 * one file comes.
 */
export function isWebmailServerFile(name: string): boolean {
  return name.startsWith('webmail.') && name.endsWith('.conf');
}

/** The names of the held-domain files (WebmailPaths.heldDomainsDir): the domains, checked and without repeats. */
export function heldDomainFiles(domains: readonly string[]): Set<string> {
  return new Set(domains.map((domain, index) => assertValid(`domains[${index}]`, domain, checkDomain)));
}

/**
 * One server block for every webmail.<domain> of the node, whatever domains it holds: a regular
 * expression names them, and a request is answered only when its domain has a file in the
 * held-domains folder (404 otherwise). So a mail domain that comes or goes changes one empty file
 * and nginx is not reloaded for it; and the node's nginx has one server block less per domain to
 * parse at every reload. Host names that a site or a forward to another node names exactly win
 * over the expression in nginx's choice of server. The certificate comes from the default server,
 * by the name the client asked for (agent/tls-files.ts nginxCertificateMap).
 */
export function renderWebmailServer(input: { address: string; paths: WebmailPaths }): string {
  const { address, paths } = input;
  assertValid('address', address, checkNodeAddress);
  assertPaths(paths);
  const listenHost = address.includes(':') ? `[${address}]` : address;
  return [
    '# Written by the Fleetpanel agent (webmail module); changes here are overwritten.',
    'server {',
    `    listen ${listenHost}:80;`,
    `    listen ${listenHost}:443 ssl;`,
    // nginx has lower-cased the host and refused "..", "/" and NUL in it before it is matched.
    '    server_name ~^webmail\\.(?<fleetpanel_webmail_domain>[a-z0-9][a-z0-9.-]*)$;',
    `    if (!-f ${paths.heldDomainsDir}/$fleetpanel_webmail_domain) { return 404; }`,
    `    root ${ROUNDCUBE_DOCUMENT_ROOT};`,
    '    index index.php;',
    '    client_max_body_size 26m;',
    // Roundcube's own folders are not below public_html, but a symlinked config must never be served.
    '    location ~ /\\. { deny all; }',
    // The FastCGI parameters come from the http level of the node's nginx (web/nginx-config.ts);
    // a parameter named here would keep this location from inheriting any of them.
    '    location ~ \\.php$ {',
    '        try_files $uri =404;',
    `        fastcgi_pass unix:${paths.phpFpmSocket};`,
    '    }',
    '}',
    '',
  ].join('\n');
}
