import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WEBMAIL_SERVER_FILE, heldDomainFiles, isWebmailServerFile, renderPhpFpmConfig, renderRoundcubeConfig, renderWebmailServer, type WebmailPaths } from './webmail-config.ts';

const ROOT = '/srv/node';
const paths: WebmailPaths = {
  configDir: `${ROOT}/etc/webmail/roundcube`,
  databaseFile: `${ROOT}/lib/webmail/db/roundcube.sqlite`,
  tempDir: `${ROOT}/lib/webmail/temp`,
  logDir: `${ROOT}/lib/webmail/logs`,
  phpFpmConfig: `${ROOT}/etc/webmail/php-fpm.conf`,
  phpFpmPidFile: `${ROOT}/run/webmail/php-fpm.pid`,
  phpFpmErrorLog: `${ROOT}/log/webmail-php-fpm.log`,
  phpFpmSocket: `${ROOT}/run/webmail/php-fpm.sock`,
  heldDomainsDir: `${ROOT}/lib/webmail/domains`,
};
const DES_KEY = 'abcdefghijklmnopqrstuvwx';

describe('webmail configuration', () => {
  it("points Roundcube at the node's own Dovecot and Postfix and keeps its data under the node root", () => {
    const config = renderRoundcubeConfig({ address: '10.0.0.2', paths, desKey: DES_KEY });
    assert.match(config, /^\$config\['imap_host'\] = 'tls:\/\/10\.0\.0\.2:143';$/m);
    assert.match(config, /^\$config\['smtp_host'\] = '10\.0\.0\.2:25';$/m);
    assert.match(config, /^\$config\['db_dsnw'\] = 'sqlite:\/\/\/\/srv\/node\/lib\/webmail\/db\/roundcube\.sqlite\?mode=0640';$/m);
    assert.match(config, /^\$config\['des_key'\] = 'abcdefghijklmnopqrstuvwx';$/m);
    assert.match(config, /^\$config\['product_name'\] = 'Fleetpanel Webmail';$/m);
  });

  it('refuses a DES key or address that could break out of the PHP string', () => {
    assert.throws(() => renderRoundcubeConfig({ address: '10.0.0.2', paths, desKey: "abc'; system('x'); //xxxxx" }), /desKey/);
    assert.throws(() => renderRoundcubeConfig({ address: "10.0.0.2'", paths, desKey: DES_KEY }), /address/);
  });

  it("runs one php-fpm pool as Roundcube's own user on a socket under the node root that only nginx's workers reach", () => {
    const config = renderPhpFpmConfig({ paths, user: 'fleetpanel-webmail', socketOwner: 'www-data' });
    assert.match(config, /^pid = \/srv\/node\/run\/webmail\/php-fpm\.pid$/m);
    assert.match(config, /^listen = \/srv\/node\/run\/webmail\/php-fpm\.sock$/m);
    assert.match(config, /^user = fleetpanel-webmail$/m);
    assert.match(config, /^group = fleetpanel-webmail$/m);
    assert.match(config, /^listen\.owner = www-data$/m);
    assert.match(config, /^listen\.mode = 0660$/m);
    assert.match(config, /^env\[RCUBE_CONFIG_PATH\] = \/srv\/node\/etc\/webmail\/roundcube\/$/m);
    assert.match(config, /^env\[ROUNDCUBE_CONFIG_DIR\] = \/srv\/node\/etc\/webmail\/roundcube$/m);
    // A reload lets a request under way finish (php.test shows it for the sites' masters).
    assert.match(config, /^process_control_timeout = 10s$/m);
    assert.throws(() => renderPhpFpmConfig({ paths, user: 'fleetpanel-webmail', socketOwner: 'www data' }), /socketOwner/);
  });

  it('serves every webmail.<domain> with one server block on the node address, answering only for the domains with a file in the held-domains folder', () => {
    const server = renderWebmailServer({ address: '10.0.0.2', paths });
    assert.equal(server.match(/^server \{$/gm)?.length, 1);
    assert.deepEqual([...server.matchAll(/^ {4}server_name (.+);$/gm)].map((m) => m[1]), ['~^webmail\\.(?<fleetpanel_webmail_domain>[a-z0-9][a-z0-9.-]*)$']);
    assert.match(server, /^ {4}if \(!-f \/srv\/node\/lib\/webmail\/domains\/\$fleetpanel_webmail_domain\) \{ return 404; \}$/m);
    // Its certificate comes from the default server, by the name asked for.
    assert.doesNotMatch(server, /ssl_certificate|include \/srv\/node\/etc\/tls/);
    assert.match(server, /^ {4}listen 10\.0\.0\.2:80;$/m);
    assert.match(server, /^ {4}listen 10\.0\.0\.2:443 ssl;$/m);
    assert.doesNotMatch(server, /fastcgi_param|fastcgi_params/, 'the parameters of the http level are inherited');
    assert.match(server, /fastcgi_pass unix:\/srv\/node\/run\/webmail\/php-fpm\.sock;/);
    assert.ok(isWebmailServerFile(WEBMAIL_SERVER_FILE));
    assert.ok(isWebmailServerFile('webmail.a.test.conf'), 'the per-host files of earlier versions are webmail\'s to remove');
    assert.equal(isWebmailServerFile('bare.conf'), false);
  });

  it('names a held-domain file after each domain once, and refuses a name that is not a domain', () => {
    assert.deepEqual([...heldDomainFiles(['b.test', 'a.test', 'b.test'])], ['b.test', 'a.test']);
    for (const bad of ['bad domain;', '../etc', 'a/b.test', '']) assert.throws(() => heldDomainFiles(['a.test', bad]), /domains\[1\]/, bad);
  });
});
