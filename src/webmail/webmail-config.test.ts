import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isWebmailServerFile, renderPhpFpmConfig, renderRoundcubeConfig, renderWebmailServers, type WebmailPaths } from './webmail-config.ts';

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
    assert.throws(() => renderPhpFpmConfig({ paths, user: 'fleetpanel-webmail', socketOwner: 'www data' }), /socketOwner/);
  });

  it('serves webmail.<domain> for each held domain on the node address only, with the node config path', () => {
    const servers = renderWebmailServers({ address: '10.0.0.2', paths, domains: ['b.test', 'a.test', 'a.test'] });
    // One server block per host, each in its own file; its first name picks its certificate, so it names none itself.
    assert.deepEqual([...servers.keys()], ['webmail.a.test.conf', 'webmail.b.test.conf']);
    assert.ok([...servers.keys()].every(isWebmailServerFile));
    assert.equal(isWebmailServerFile('bare.conf'), false);
    const server = servers.get('webmail.a.test.conf')!;
    assert.deepEqual([...server.matchAll(/^ {4}server_name (.+);$/gm)].map((m) => m[1]), ['webmail.a.test']);
    assert.doesNotMatch(server, /ssl_certificate|include \/srv\/node\/etc\/tls/);
    assert.match(server, /^ {4}listen 10\.0\.0\.2:80;$/m);
    assert.doesNotMatch(server, /fastcgi_param|fastcgi_params/, 'the parameters of the http level are inherited');
    assert.match(server, /fastcgi_pass unix:\/srv\/node\/run\/webmail\/php-fpm\.sock;/);
    assert.equal(renderWebmailServers({ address: '10.0.0.2', paths, domains: [] }).size, 0);
    assert.throws(() => renderWebmailServers({ address: '10.0.0.2', paths, domains: ['bad domain;'] }), /domains\[0\]/);
  });
});
