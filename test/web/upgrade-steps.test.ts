/**
 * What a node of an earlier version has on disk, taken over by this one without nginx running:
 * its self-signed certificate kept apart (node.crt, node.key) becomes the combined file nginx's
 * workers read, the same certificate; webmail's per-host server files of before its one server
 * block are removed when webmail places that block; webmail's held domains follow the mail
 * domains from one refresh to the next, starting from the files an earlier run left; and a site
 * of the default settings that had a server block of its own moves into the shared server, its
 * access log (root's, opened by the master before) handed to nginx's workers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { NginxDriver } from '../../src/web/nginx.driver.ts';
import { ensureNodeCertificate } from '../../src/web/node-certificate.ts';
import { WebmailDriver } from '../../src/webmail/webmail.driver.ts';
import { WEBMAIL_SERVER_FILE } from '../../src/webmail/webmail-config.ts';
import { DEFAULT_PHP_SETTINGS } from '../../src/php/php-settings.ts';
import { lookupUser } from '../../src/php/system-users.ts';
import { probe } from './http-probe.ts';
import { TEST_NET } from '../test-net.ts';
import { readIfExists } from '../../src/core/files.ts';
import { waitFor } from '../../src/agent/daemon-process.ts';

const ADDRESS = `${TEST_NET}.22.9`;

describe('a node of an earlier version taken over', () => {
  let workDir: string;
  let layout: NodeLayout;

  before(() => {
    workDir = mkdtempSync(join(tmpdir(), 'fleet-upgrade-'));
    layout = new NodeLayout(join(workDir, 'node'));
    layout.ensure();
  });

  after(() => {
    if (workDir && !process.env.FLEETPANEL_KEEP_TEST_DIRS) rmSync(workDir, { recursive: true, force: true });
  });

  it('keeps the certificate an earlier node made: node.crt and node.key become the combined file', async () => {
    const folder = join(workDir, 'tls');
    mkdirSync(folder, { recursive: true });
    const [certificate, key] = [join(folder, 'node.crt'), join(folder, 'node.key')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', certificate, '-days', '30', '-subj', '/CN=earlier'], { stdio: 'ignore' });
    const earlier = readFileSync(certificate, 'utf8') + readFileSync(key, 'utf8');
    const combined = join(folder, 'node.pem');
    await ensureNodeCertificate({ file: combined, address: ADDRESS, openssl: 'openssl' });
    assert.equal(readFileSync(combined, 'utf8'), earlier);
    assert.match(execFileSync('openssl', ['x509', '-noout', '-subject', '-in', combined], { encoding: 'utf8' }), /CN\s*=\s*earlier/);
  });

  it("removes webmail's per-host server files of earlier versions and leaves the other modules' files", async () => {
    const context = { layout, address: ADDRESS, log: () => undefined };
    const nginx = new NginxDriver(context);
    let domains = ['kept.test', 'dropped.test'];
    const webmail = new WebmailDriver(context, { nginx: () => nginx, heldDomains: () => domains });
    mkdirSync(webmail.servers.folder, { recursive: true });
    for (const name of ['webmail.a.test.conf', 'webmail.b.test.conf', 'other-module.conf']) writeFileSync(join(webmail.servers.folder, name), '# an earlier version\n');
    // An earlier run held a domain that is gone since.
    mkdirSync(webmail.paths.heldDomainsDir, { recursive: true });
    writeFileSync(join(webmail.paths.heldDomainsDir, 'gone.test'), '');

    assert.deepEqual(await webmail.refreshServers(), { changed: true });
    assert.deepEqual(readdirSync(webmail.servers.folder).sort(), ['other-module.conf', WEBMAIL_SERVER_FILE].sort());
    assert.deepEqual(readdirSync(webmail.paths.heldDomainsDir).sort(), ['dropped.test', 'kept.test']);

    domains = ['kept.test', 'new.test'];
    assert.deepEqual(await webmail.refreshServers(), { changed: true });
    assert.deepEqual(readdirSync(webmail.paths.heldDomainsDir).sort(), ['kept.test', 'new.test']);
    assert.deepEqual(await webmail.refreshServers(), { changed: false }, 'nothing to do the second time');
    assert.equal(existsSync(join(webmail.servers.folder, 'webmail.a.test.conf')), false);
  });

  it('moves a site of the default settings from its own server block into the shared server, its access log handed to the workers', async () => {
    for (const folder of [workDir, layout.root, layout.www()]) chmodSync(folder, 0o711);
    const nginx = new NginxDriver({ layout, address: ADDRESS, log: () => undefined });
    const documentRoot = layout.www('ann', 'ann.test', 'public_html');
    const logDir = layout.www('ann', 'logs');
    mkdirSync(documentRoot, { recursive: true });
    mkdirSync(logDir, { recursive: true });
    writeFileSync(join(documentRoot, 'index.html'), 'ann here\n');
    const accessLog = join(logDir, 'ann.test.access.log');
    // What an earlier version wrote for such a site, and the log its master (root) made.
    mkdirSync(nginx.paths.sitesDir, { recursive: true });
    writeFileSync(join(nginx.paths.sitesDir, 'site-ann.test.conf'), [
      'server {',
      `    listen ${ADDRESS}:80;`,
      `    listen ${ADDRESS}:443 ssl;`,
      '    server_name ann.test www.ann.test;',
      `    root ${documentRoot};`,
      '    index index.php index.html index.htm;',
      `    access_log ${accessLog};`,
      `    error_log ${logDir}/ann.test.error.log warn;`,
      '    location / { try_files $uri $uri/ /index.php?$args; }',
      '}',
      '',
    ].join('\n'));
    writeFileSync(accessLog, '');
    await nginx.start();
    try {
      assert.equal((await probe(ADDRESS, 'ann.test')).kind, 'response', 'served by its own block first');
      const site = { domain: 'ann.test', account: 'ann', suspended: false, documentRoot, php: { socket: layout.run('php', 'ann.sock'), logDir, settings: DEFAULT_PHP_SETTINGS } };
      assert.deepEqual(await nginx.apply({ sites: [site], proxies: [] }), { changed: true });
      assert.deepEqual(readdirSync(nginx.paths.sitesDir), ['site-ann.test.map']);
      if (process.getuid?.() === 0) assert.equal(statSync(accessLog).uid, lookupUser('www-data')!.uid, "the workers' now");
      for (const tls of [false, true]) {
        const answer = await probe(ADDRESS, 'www.ann.test', { path: '/index.html', tls });
        assert.equal(answer.kind === 'response' && answer.body, 'ann here\n', `over ${tls ? 'HTTPS' : 'HTTP'}`);
      }
      assert.equal((await probe(ADDRESS, 'nobody.test', { tls: true })).kind, 'closed', 'a name nobody serves: no answer after the handshake');
      // nginx writes a request's log line once it has answered (or closed the connection).
      await waitFor(() => readFileSync(accessLog, 'utf8').match(/GET \/index\.html /g)?.length === 2, 5_000, "both requests in the site's own log");
      await waitFor(() => / 444 /.test(readIfExists(nginx.paths.accessLog) ?? ''), 5_000, "the unknown name's request in the node's log");
      assert.doesNotMatch(readIfExists(nginx.paths.accessLog) ?? '', /index\.html/, "the site's requests are not in the node's log");
    } finally {
      await nginx.stop();
    }
  });
});
