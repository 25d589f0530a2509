/**
 * What a node of an earlier version has on disk, taken over by this one without nginx running:
 * its self-signed certificate kept apart (node.crt, node.key) becomes the combined file nginx's
 * workers read, the same certificate; webmail's per-host server files of before its one server
 * block are removed when webmail places that block; and webmail's held domains follow the mail
 * domains from one refresh to the next, starting from the files an earlier run left.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { NginxDriver } from '../../src/web/nginx.driver.ts';
import { ensureNodeCertificate } from '../../src/web/node-certificate.ts';
import { WebmailDriver } from '../../src/webmail/webmail.driver.ts';
import { WEBMAIL_SERVER_FILE } from '../../src/webmail/webmail-config.ts';
import { TEST_NET } from '../test-net.ts';

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
});
