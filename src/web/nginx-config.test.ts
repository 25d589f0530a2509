import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderNginxConfig, renderServerFiles, serverFileName, SUSPENSION_PAGE, type NginxConfigInput } from './nginx-config.ts';
import { DEFAULT_PHP_SETTINGS, type PhpSiteSettings } from '../php/php-settings.ts';
import type { WebSite } from '../protocol/web-state.ts';

/** nginx.conf followed by every server file, as nginx reads them through its include. */
function renderAll(input: NginxConfigInput): string {
  return [renderNginxConfig(input), ...[...renderServerFiles(input)].sort(([a], [b]) => a.localeCompare(b)).map(([, contents]) => contents)].join('');
}

const ROOT = '/srv/node';
const input = (overrides: Partial<NginxConfigInput> = {}): NginxConfigInput => ({
  address: '127.0.22.2',
  workerUser: 'www-data',
  paths: {
    pidFile: `${ROOT}/run/nginx/nginx.pid`,
    errorLog: `${ROOT}/log/nginx-error.log`,
    accessLog: `${ROOT}/log/nginx-access.log`,
    tempDir: `${ROOT}/lib/nginx/tmp`,
    certificate: `${ROOT}/etc/nginx/tls/node.pem`,
    mimeTypes: '/etc/nginx/mime.types',
    extraServersDir: `${ROOT}/etc/nginx/servers.d`,
    fastcgiParams: '/etc/nginx/fastcgi_params',
    tlsIncludeDir: `${ROOT}/etc/tls/nginx`,
    sitesDir: `${ROOT}/etc/nginx/sites.d`,
    homesDir: `${ROOT}/www`,
    phpSocketsDir: `${ROOT}/run/php`,
  },
  state: {
    sites: [
      { domain: 'example.com', account: 'alice', documentRoot: `${ROOT}/www/alice/example.com/public_html`, suspended: false },
      { domain: 'closed.example', account: 'bob', documentRoot: `${ROOT}/www/bob/closed.example/public_html`, suspended: true },
    ],
    proxies: [{ domain: 'webmail.example.com', upstream: '127.0.22.3' }],
  },
  ...overrides,
});

/** The server block whose server_name line starts with `name`. */
function serverBlock(config: string, name: string): string {
  const blocks = config.split(/\n *server \{\n/).slice(1);
  const block = blocks.find((b) => b.includes(`server_name ${name}`));
  assert.ok(block, `no server block for ${name}`);
  return block;
}

describe('renderNginxConfig', () => {
  const config = renderAll(input());

  it('keeps every file the instance writes under the node root', () => {
    assert.match(config, /^pid \/srv\/node\/run\/nginx\/nginx\.pid;$/m);
    assert.match(config, /^error_log \/srv\/node\/log\/nginx-error\.log warn;$/m);
    assert.match(config, /^ {4}access_log \/srv\/node\/log\/nginx-access\.log;$/m);
    for (const kind of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
      assert.match(config, new RegExp(`^ {4}${kind}_temp_path /srv/node/lib/nginx/tmp/${kind};$`, 'm'));
    }
    assert.match(config, /^user www-data;$/m);
  });

  it('binds every listener to the node address only', () => {
    const listens = config.match(/listen [^;]+;/g) ?? [];
    assert.equal(listens.length, 8);
    for (const listen of listens) assert.match(listen, /^listen 127\.0\.22\.2:(80|443 ssl)( default_server)?;$/);
  });

  it('refuses unknown hosts in a default server', () => {
    const block = serverBlock(config, '_');
    assert.match(block, /listen 127\.0\.22\.2:80 default_server;/);
    assert.match(block, /listen 127\.0\.22\.2:443 ssl default_server;/);
    assert.match(block, /return 444;/);
  });

  it('serves a site for its domain and www. from its document root', () => {
    const block = serverBlock(config, 'example.com');
    assert.match(block, /server_name example\.com www\.example\.com;/);
    assert.match(block, /root \/srv\/node\/www\/alice\/example\.com\/public_html;/);
  });

  it('serves only the suspension page for a suspended site', () => {
    const block = serverBlock(config, 'closed.example');
    assert.doesNotMatch(block, /root /);
    assert.ok(block.includes(`return 503 '${SUSPENSION_PAGE}';`));
    assert.match(SUSPENSION_PAGE, /account is suspended/);
    assert.doesNotMatch(SUSPENSION_PAGE, /['\\$;]/);
  });

  it('forwards a proxied host to the other node, keeping Host and binding the node address', () => {
    const block = serverBlock(config, 'webmail.example.com');
    assert.match(block, /proxy_pass http:\/\/127\.0\.22\.3:80;/);
    assert.match(block, /proxy_set_header Host \$host;/);
    assert.match(block, /proxy_bind 127\.0\.22\.2;/);
  });

  it('brackets IPv6 addresses', () => {
    const v6 = renderAll(input({ address: '2001:db8::2', state: { sites: [], proxies: [{ domain: 'webmail.example.com', upstream: '2001:db8::3' }] } }));
    assert.match(v6, /listen \[2001:db8::2\]:80 default_server;/);
    assert.match(v6, /proxy_pass http:\/\/\[2001:db8::3\]:80;/);
  });

  it('leaves the user directive out when no worker user is given', () => {
    assert.doesNotMatch(renderNginxConfig(input({ workerUser: undefined })), /^user /m);
  });

  it('is deterministic', () => {
    assert.equal(renderAll(input()), config);
  });

  it('writes each site and forwarded host to a file of its own, which nginx.conf includes from the sites folder', () => {
    const files = renderServerFiles(input());
    assert.deepEqual([...files.keys()].sort(), [serverFileName('site', 'closed.example'), serverFileName('site', 'example.com'), serverFileName('proxy', 'webmail.example.com')].sort());
    assert.match(files.get(serverFileName('site', 'example.com'))!, /server_name example\.com www\.example\.com;/);
    assert.doesNotMatch(files.get(serverFileName('site', 'example.com'))!, /closed\.example/);
    const main = renderNginxConfig(input());
    assert.doesNotMatch(main, /example\.com/);
    assert.match(main, /^ {4}include \/srv\/node\/etc\/nginx\/sites\.d\/\*\.conf;$/m);
    // A candidate names its files one by one instead of the glob.
    const candidate = renderNginxConfig(input(), ['/srv/node/etc/nginx/sites.d/site-example.com.conf.candidate']);
    assert.match(candidate, /^ {4}include \/srv\/node\/etc\/nginx\/sites\.d\/site-example\.com\.conf\.candidate;$/m);
    assert.doesNotMatch(candidate, /sites\.d\/\*\.(conf|map)/);
    // A shared site's candidate map file goes into the map, not among the server blocks.
    const shared = renderNginxConfig(input(), ['/srv/node/etc/nginx/sites.d/site-example.com.map.123-4.candidate']);
    assert.match(shared, /^ {4}map "\$scheme:\$host" \$fleetpanel_site_root \{\n {8}default "";\n {8}include \/srv\/node\/etc\/nginx\/sites\.d\/site-example\.com\.map\.123-4\.candidate;\n {4}\}$/m);
    assert.match(main, /^ {8}include \/srv\/node\/etc\/nginx\/sites\.d\/\*\.map;$/m);
  });

  it('includes the server blocks other modules of the node write (webmail)', () => {
    assert.match(renderNginxConfig(input()), /^ {4}include \/srv\/node\/etc\/nginx\/servers\.d\/\*\.conf;$/m);
  });

  it('names a certificate in the default server only, picked by the name the client asked for from one map of host files', () => {
    const main = renderNginxConfig(input());
    assert.match(main, /^ {4}map \$ssl_server_name \$fleetpanel_certificate \{ default \/srv\/node\/etc\/nginx\/tls\/node\.pem; include \/srv\/node\/etc\/tls\/nginx\/\*\.conf; \}$/m);
    const defaultServer = main.split(/\n *server \{\n/)[1]!;
    assert.match(defaultServer, /server_name _;/);
    assert.match(defaultServer, /ssl_certificate \$fleetpanel_certificate;/);
    assert.match(defaultServer, /ssl_certificate_key \$fleetpanel_certificate;/);
    // Anywhere else, nginx would build an OpenSSL context for that block (or, at the http level, for every block).
    assert.equal([...renderAll(input()).matchAll(/ssl_certificate /g)].length, 1);
  });

  it('answers plain HTTP of a site that asked for it with a redirect to HTTPS, and serves the site on 443 only', () => {
    const base = input();
    const redirected = renderAll(input({ state: { ...base.state, sites: [{ ...base.state.sites[0]!, httpsRedirect: true }] } }));
    const blocks = redirected.split(/\n *server \{\n/).slice(1).filter((b) => b.includes('server_name example.com www.example.com;'));
    assert.equal(blocks.length, 2);
    const [site, redirect] = blocks as [string, string];
    assert.doesNotMatch(site, /:80;/);
    assert.match(site, /listen 127\.0\.22\.2:443 ssl;/);
    assert.match(site, /root \/srv\/node\/www\/alice\/example\.com\/public_html;/);
    assert.match(redirect, /listen 127\.0\.22\.2:80;/);
    assert.doesNotMatch(redirect, /443/);
    assert.match(redirect, /return 301 https:\/\/\$host\$request_uri;/);
    // Without the option both ports serve the site.
    assert.match(serverBlock(config, 'example.com'), /listen 127\.0\.22\.2:80;/);
    assert.doesNotMatch(serverBlock(config, 'example.com'), /return 301/);
  });

  it('forwards a moved site to the node it moved to, port to same port, keeping Host, and serves none of its files here', () => {
    const base = input();
    const forwarded = renderAll(input({ state: { ...base.state, sites: [{ ...base.state.sites[0]!, httpsRedirect: true, forwardTo: '127.0.23.1' }] } }));
    const blocks = forwarded.split(/\n *server \{\n/).slice(1).filter((b) => b.includes('server_name example.com www.example.com;'));
    assert.equal(blocks.length, 2);
    const [plain, tls] = blocks as [string, string];
    assert.match(plain, /listen 127\.0\.22\.2:80;/);
    assert.match(plain, /proxy_pass http:\/\/127\.0\.23\.1:80;/);
    // The new node answers HTTPS itself (its redirect, its certificate): the TLS port goes to its TLS port.
    assert.match(tls, /listen 127\.0\.22\.2:443 ssl;/);
    assert.match(tls, /proxy_pass https:\/\/127\.0\.23\.1:443;/);
    assert.match(tls, /proxy_ssl_name \$host;/);
    for (const block of blocks) {
      assert.match(block, /proxy_set_header Host \$host;/);
      assert.match(block, /proxy_bind 127\.0\.22\.2;/);
      assert.doesNotMatch(block, /root |return 301|fastcgi_pass/);
    }
    assert.throws(() => renderAll(input({ state: { sites: [{ ...base.state.sites[0]!, forwardTo: '127.0.22.2' }], proxies: [] } })), /sites\[0\]\.forwardTo: must be another node/);
    assert.throws(() => renderAll(input({ state: { sites: [{ ...base.state.sites[0]!, forwardTo: '127.0.23.1; evil' }], proxies: [] } })), /sites\[0\]\.forwardTo/);
  });

  it('refuses unsafe node paths and addresses', () => {
    assert.throws(() => renderNginxConfig(input({ address: '127.0.22.2; evil' })), /address/);
    const paths = { ...input().paths, pidFile: '/srv/my node/nginx.pid' };
    assert.throws(() => renderNginxConfig(input({ paths })), /paths\.pidFile/);
    assert.throws(() => renderNginxConfig(input({ workerUser: 'www data' })), /workerUser/);
  });
});

describe('nginx config of a PHP site', () => {
  const paths = {
    pidFile: '/n/p',
    errorLog: '/n/e',
    accessLog: '/n/a',
    tempDir: '/n/t',
    certificate: '/n/c',
    mimeTypes: '/m',
    extraServersDir: '/n/s',
    fastcgiParams: '/etc/nginx/fastcgi_params',
    tlsIncludeDir: '/n/tls',
    sitesDir: '/n/sites',
    homesDir: '/n.1/www',
    phpSocketsDir: '/n.1/run/php',
  };
  const usualSite = (domain: string, account: string, settings: PhpSiteSettings) => ({
    domain,
    account,
    documentRoot: `/n.1/www/${account}/${domain}/public_html`,
    suspended: false,
    php: { socket: `/n.1/run/php/${account}.sock`, logDir: `/n.1/www/${account}/logs`, settings },
  });
  const phpInput = (sites: WebSite[]): NginxConfigInput => ({ address: '127.0.22.2', paths, state: { sites, proxies: [] } });
  const config = renderAll({
    address: '127.0.22.2',
    paths,
    state: {
      sites: [
        usualSite('a.test', 'alice', { memoryLimitMb: 96, uploadMaxMb: 8, maxExecutionSeconds: 20 }),
        usualSite('b.test', 'bob', DEFAULT_PHP_SETTINGS),
        { ...usualSite('c.test', 'carol', DEFAULT_PHP_SETTINGS), php: { socket: '/elsewhere/carol.sock', logDir: '/n.1/www/carol/logs', settings: DEFAULT_PHP_SETTINGS } },
      ],
      proxies: [],
    },
  });

  it("derives the usual socket, settings and PHP error log from the document root at the http level, once for all sites", () => {
    assert.match(config, /^ {4}map \$document_root \$fleetpanel_php_socket \{ default ""; "~\^\/n\\\.1\/www\/\(\?<fleetpanel_php_account>\[\^\/\]\+\)\/\(\?<fleetpanel_php_domain>\[\^\/\]\+\)\/public_html\$" unix:\/n\.1\/run\/php\/\$fleetpanel_php_account\.sock; \}$/m);
    const adminMap = /^ {4}map \$document_root \$fleetpanel_php_admin_value \{ default ""; "~[^"]+" "([^"]+)"; \}$/m.exec(config)?.[1];
    assert.equal(adminMap, 'memory_limit=256M\\nupload_max_filesize=64M\\npost_max_size=72M\\nmax_execution_time=60\\nerror_log=/n.1/www/$fleetpanel_php_account/logs/$fleetpanel_php_domain.php-error.log');
    assert.match(config, /^ {4}fastcgi_read_timeout 90s;$/m);
    // The parameters are named once at the http level; a location that named any would inherit none of them.
    assert.match(config, /^ {4}include \/etc\/nginx\/fastcgi_params;\n {4}fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;\n {4}fastcgi_param PHP_ADMIN_VALUE \$fleetpanel_php_admin_value if_not_empty;$/m);
    assert.equal([...config.matchAll(/fastcgi_param|include \/etc\/nginx\/fastcgi_params/g)].length, 3);
  });

  it('serves a usual site with the default settings from the shared server, by its host names alone', () => {
    assert.doesNotMatch(config, /server_name [^;]*b\.test/);
    const root = '/n.1/www/bob/b.test/public_html';
    const files = renderServerFiles(phpInput([usualSite('b.test', 'bob', DEFAULT_PHP_SETTINGS)]));
    assert.deepEqual([...files.keys()], ['site-b.test.map']);
    const entries = [`http:b.test ${root};`, `https:b.test ${root};`, `http:www.b.test ${root};`, `https:www.b.test ${root};`];
    assert.equal(files.get(serverFileName('shared-site', 'b.test')), ['# site b.test of account bob, in the shared server', ...entries, ''].join('\n'));
    const shared = serverBlock(config, '_');
    assert.match(shared, /listen 127\.0\.22\.2:443 ssl default_server;/);
    assert.match(shared, /if \(\$fleetpanel_site_root = ""\) \{\n\s*return 444;/);
    assert.match(shared, /root \$fleetpanel_site_root;/);
    assert.match(shared, /try_files \$uri \$uri\/ \/index\.php\?\$args;/);
    assert.match(shared, /location ~ \\\.php\$ \{\n\s*try_files \$uri =404;\n\s*fastcgi_pass \$fleetpanel_php_socket;/);
    assert.match(shared, /client_max_body_size 72m;/);
    // Its access log is the site's own, derived from the document root; the rest goes to the node's.
    assert.match(config, /map \$document_root \$fleetpanel_site_access_log \{ default ""; "~[^"]+" \$fleetpanel_php_account\/logs\/\$fleetpanel_php_domain\.access\.log; \}/);
    assert.match(shared, /access_log \/n\.1\/www\/\$fleetpanel_site_access_log combined if=\$fleetpanel_site_access_log;/);
    assert.match(shared, /access_log \/n\/a combined if=\$fleetpanel_not_a_site;/);
  });

  it('answers plain HTTP of a shared site that asked for HTTPS only with a redirect, from the shared server', () => {
    const files = renderServerFiles(phpInput([{ ...usualSite('b.test', 'bob', DEFAULT_PHP_SETTINGS), httpsRedirect: true }]));
    const entries = files.get(serverFileName('shared-site', 'b.test'))!;
    assert.match(entries, /^http:b\.test https-only;$/m);
    assert.match(entries, /^https:b\.test \/n\.1\/www\/bob\/b\.test\/public_html;$/m);
    assert.match(serverBlock(config, '_'), /if \(\$fleetpanel_site_root = https-only\) \{\n\s*return 301 https:\/\/\$host\$request_uri;/);
  });

  it('gives a site a server block of its own when anything of it differs: settings, paths, suspension, a move, a webmail. name', () => {
    const sites = [
      usualSite('a.test', 'alice', { memoryLimitMb: 96, uploadMaxMb: 8, maxExecutionSeconds: 20 }),
      { ...usualSite('c.test', 'carol', DEFAULT_PHP_SETTINGS), php: { socket: '/elsewhere/carol.sock', logDir: '/n.1/www/carol/logs', settings: DEFAULT_PHP_SETTINGS } },
      { ...usualSite('d.test', 'dave', DEFAULT_PHP_SETTINGS), suspended: true },
      { ...usualSite('e.test', 'erin', DEFAULT_PHP_SETTINGS), forwardTo: '127.0.23.1' },
      // webmail's server block takes webmail.<domain> by a regular expression, which the shared server's map could not win against.
      usualSite('webmail.f.test', 'fred', DEFAULT_PHP_SETTINGS),
    ];
    const names = ['site-a.test.conf', 'site-c.test.conf', 'site-d.test.conf', 'site-e.test.conf', 'site-webmail.f.test.conf'];
    assert.deepEqual([...renderServerFiles(phpInput(sites)).keys()], names);
  });

  it("passes a site's own settings to php-fpm as PHP_ADMIN_VALUE, and its own socket where it is elsewhere", () => {
    const alice = serverBlock(config, 'a.test');
    assert.match(alice, /set \$fleetpanel_php_admin_value "memory_limit=96M\\nupload_max_filesize=8M\\npost_max_size=16M\\nmax_execution_time=20\\nerror_log=\/n\.1\/www\/alice\/logs\/a\.test\.php-error\.log";/);
    assert.match(alice, /fastcgi_read_timeout 50s;/);
    assert.doesNotMatch(alice, /set \$fleetpanel_php_socket/);
    // Its access log too is the one the http level derives, opened by a worker; nginx's errors go to the node's log.
    assert.match(alice, /access_log \/n\.1\/www\/\$fleetpanel_site_access_log combined if=\$fleetpanel_site_access_log;/);
    assert.doesNotMatch(alice, /^ *error_log /m);
    const carol = serverBlock(config, 'c.test');
    assert.match(carol, /set \$fleetpanel_php_socket unix:\/elsewhere\/carol\.sock;\n\s*fastcgi_pass \$fleetpanel_php_socket;/);
    // Not all of its paths are the usual ones, so the http level's settings are not taken either, nor its logs.
    assert.match(carol, /set \$fleetpanel_php_admin_value "memory_limit=256M/);
    assert.match(carol, /access_log \/n\.1\/www\/carol\/logs\/c\.test\.access\.log;/);
  });
});
