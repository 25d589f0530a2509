/**
 * Two real nginx instances on 127.0.22.2 and 127.0.22.3, each with its own node root, as on the
 * local cluster: sites, suspension, refusal of unknown hosts and forwarding to another node.
 * Requests follow apply() without retries: apply returns only once the new workers answer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { NginxDriver } from '../../src/web/nginx.driver.ts';
import { nginxCertificateMapEntryFile } from '../../src/agent/tls-files.ts';
import { lookupUser } from '../../src/php/system-users.ts';
import { SUSPENSION_STATUS } from '../../src/web/nginx-config.ts';
import { DEFAULT_PHP_SETTINGS } from '../../src/php/php-settings.ts';
import type { WebState } from '../../src/protocol/web-state.ts';
import { probe } from './http-probe.ts';
import { TEST_NET } from '../test-net.ts';

const FRONT_ADDRESS = `${TEST_NET}.22.2`;
const MAIL_NODE_ADDRESS = `${TEST_NET}.22.3`;

describe('nginx driver against real instances', () => {
  let workDir: string;
  let front: NginxDriver;
  let frontLayout: NodeLayout;
  let mailNode: NginxDriver;
  const started: NginxDriver[] = [];
  const frontLog: string[] = [];

  const frontState = (suspended: boolean): WebState => ({
    sites: [{ domain: 'example.com', account: 'alice', documentRoot: frontLayout.www('alice', 'example.com', 'public_html'), suspended }],
    proxies: [{ domain: 'webmail.example.com', upstream: MAIL_NODE_ADDRESS }],
  });

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'fleet-web-'));
    // nginx workers run as www-data and must traverse down to the document roots.
    chmodSync(workDir, 0o755);
    const makeDriver = (address: string, layout: NodeLayout): NginxDriver => new NginxDriver({ layout, address, log: (message) => void (address === FRONT_ADDRESS && frontLog.push(message)) });
    frontLayout = new NodeLayout(join(workDir, 'front'));
    front = makeDriver(FRONT_ADDRESS, frontLayout);
    mailNode = makeDriver(MAIL_NODE_ADDRESS, new NodeLayout(join(workDir, 'mail')));
    for (const driver of [front, mailNode]) {
      started.push(driver);
      await driver.start();
    }
  });

  after(async () => {
    for (const driver of started) await driver.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('serves a site by Host header over HTTP and HTTPS', async () => {
    const documentRoot = front.ensureDocumentRoot('alice', 'example.com');
    writeFileSync(join(documentRoot, 'hello.txt'), 'hello from alice\n');
    assert.deepEqual(await front.apply(frontState(false)), { changed: true });
    for (const host of ['example.com', 'www.example.com']) {
      const page = await probe(FRONT_ADDRESS, host, { path: '/hello.txt' });
      assert.equal(page.kind === 'response' && page.body, 'hello from alice\n');
    }
    const index = await probe(FRONT_ADDRESS, 'example.com');
    assert.ok(index.kind === 'response' && index.body.includes('<h1>example.com</h1>'));
    const overTls = await probe(FRONT_ADDRESS, 'example.com', { tls: true, path: '/hello.txt' });
    assert.equal(overTls.kind === 'response' && overTls.body, 'hello from alice\n');
    // The workers read the node certificate and its key at the handshake, from one file; no one else may read it.
    const combined = statSync(front.paths.certificate);
    assert.equal(combined.mode & 0o777, 0o640);
    assert.equal(combined.gid, lookupUser('www-data')!.gid);
    assert.equal(statSync(join(frontLayout.etc('nginx', 'tls'), 'node.key')).mode & 0o777, 0o600);
  });

  it('does not touch the file when nothing changed', async () => {
    assert.deepEqual(await front.apply(frontState(false)), { changed: false });
  });

  it('puts back a server file that another writer changed since the driver wrote it', async () => {
    const file = join(front.paths.sitesDir, 'site-example.com.conf');
    const written = readFileSync(file, 'utf8');
    writeFileSync(file, written);
    assert.deepEqual(await front.apply(frontState(false)), { changed: false }, 'the same contents, written again');
    writeFileSync(file, `${written}# edited by hand\n`);
    assert.deepEqual(await front.apply(frontState(false)), { changed: true });
    assert.equal(readFileSync(file, 'utf8'), written);
  });

  it('refuses unknown hosts by closing the connection', async () => {
    const plain = await probe(FRONT_ADDRESS, 'unknown.example.net');
    assert.equal(plain.kind, 'closed');
    const tls = await probe(FRONT_ADDRESS, 'unknown.example.net', { tls: true });
    assert.equal(tls.kind, 'closed');
  });

  it('forwards webmail to another node keeping the Host header', async () => {
    const webmailRoot = mailNode.ensureDocumentRoot('alice', 'webmail.example.com');
    writeFileSync(join(webmailRoot, 'index.html'), 'webmail on the mail node\n');
    await mailNode.apply({ sites: [{ domain: 'webmail.example.com', account: 'alice', documentRoot: webmailRoot, suspended: false }], proxies: [] });
    const page = await probe(FRONT_ADDRESS, 'webmail.example.com');
    assert.equal(page.kind === 'response' && page.body, 'webmail on the mail node\n');
    // The mail node saw the front node as its peer, so proxy_bind chose the node address.
    const accessLog = readFileSync(mailNode.paths.accessLog, 'utf8');
    assert.match(accessLog, new RegExp(`^${FRONT_ADDRESS.replaceAll('.', '\\.')} .*"GET / HTTP/1.0"`, 'm'));
  });

  it('shows the suspension page for every path of a suspended site, and lifts it again', async () => {
    await front.apply(frontState(true));
    for (const path of ['/', '/hello.txt', '/no/such/file']) {
      const page = await probe(FRONT_ADDRESS, 'example.com', { path });
      assert.ok(page.kind === 'response' && page.status === SUSPENSION_STATUS);
      assert.match(page.kind === 'response' ? page.body : '', /account is suspended/);
    }
    await front.apply(frontState(false));
    const back = await probe(FRONT_ADDRESS, 'example.com', { path: '/hello.txt' });
    assert.ok(back.kind === 'response' && back.status === 200);
  });

  it('lets the reloads asked for while one is under way share the next one', async () => {
    const reloads = (): number => frontLog.filter((message) => message === 'nginx reloaded').length;
    const before = reloads();
    const first = front.reload();
    // Once the first has started, the three that ask now wait for one more, not one each.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([first, front.reload(), front.reload(), front.reload()]);
    assert.equal(reloads() - before, 2);
    const page = await probe(FRONT_ADDRESS, 'example.com', { path: '/hello.txt' });
    assert.equal(page.kind === 'response' && page.body, 'hello from alice\n');
  });

  it('refuses an invalid state without writing anything', async () => {
    const before = front.liveConfiguration();
    const site = { domain: 'example.com', account: 'alice', documentRoot: frontLayout.www('alice', 'example.com'), suspended: false };
    const badStates: [unknown, RegExp][] = [
      [{ sites: [{ ...site, domain: 'evil.com;' }], proxies: [] }, /sites\[0\]\.domain/],
      [{ sites: [{ ...site, domain: 'evil.com\n}' }], proxies: [] }, /sites\[0\]\.domain/],
      [{ sites: [site, { ...site, documentRoot: `${frontLayout.www('alice')}/../../etc` }], proxies: [] }, /sites\[1\]\.documentRoot/],
      [{ sites: [], proxies: [{ domain: 'webmail.example.com', upstream: `${TEST_NET}.22.3; include /etc/passwd` }] }, /proxies\[0\]\.upstream/],
    ];
    for (const [state, field] of badStates) {
      await assert.rejects(front.apply(state), field);
      assert.equal(front.liveConfiguration(), before);
    }
  });

  it('takes the site state and another module\'s server files prepared side by side, and checks each module\'s changed files', async () => {
    const extra = { folder: front.paths.extraServersDir, owns: (name: string) => name.startsWith('extra.') };
    const extraRoot = front.ensureDocumentRoot('bob', 'extra.example');
    writeFileSync(join(extraRoot, 'index.html'), 'extra server\n');
    const extraServer = `server {\n    listen ${FRONT_ADDRESS}:80;\n    server_name extra.example;\n    root ${extraRoot};\n}\n`;
    const withSecond = { ...frontState(false), sites: [...frontState(false).sites, { domain: 'second.example', account: 'bob', documentRoot: front.ensureDocumentRoot('bob', 'second.example'), suspended: false }] };
    // One module's check runs while the other's change goes live, as the web state and webmail do on a node.
    const sites = await front.prepare(withSecond);
    const [servers] = await Promise.all([front.prepareServerFiles(extra, new Map([['extra.example.conf', extraServer]])), sites.commit()]);
    await servers.commit();
    const page = await probe(FRONT_ADDRESS, 'extra.example');
    assert.equal(page.kind === 'response' && page.body, 'extra server\n');
    const second = await probe(FRONT_ADDRESS, 'second.example');
    assert.ok(second.kind === 'response' && second.body.includes('<h1>second.example</h1>'));

    // A broken file of the module is refused at its check while a site change goes live: the
    // check's complaint is not taken for the master refusing that reload.
    const withoutSecond = await front.prepare(frontState(false));
    const [refused, committed] = await Promise.allSettled([
      front.prepareServerFiles(extra, new Map([['extra.example.conf', 'server { not_a_directive on; }\n']])),
      withoutSecond.commit(),
    ]);
    assert.match(String(refused.status === 'rejected' && refused.reason), /nginx rejected its configuration/);
    assert.equal(committed.status, 'fulfilled', String(committed.status === 'rejected' && committed.reason));
    assert.equal(readFileSync(join(extra.folder, 'extra.example.conf'), 'utf8'), extraServer);
    assert.equal((await probe(FRONT_ADDRESS, 'second.example')).kind, 'closed');

    // Its files alone go when it wants none; others in the folder stay.
    writeFileSync(join(extra.folder, 'other.conf'), '# another module\n');
    await (await front.prepareServerFiles(extra, new Map())).commit();
    assert.deepEqual(readdirSync(extra.folder).sort(), ['other.conf']);
    assert.equal((await probe(FRONT_ADDRESS, 'extra.example')).kind, 'closed');
    rmSync(join(extra.folder, 'other.conf'));
  });

  it('places another module\'s server files while nginx is stopped, and serves them once it starts', async () => {
    const extra = { folder: front.paths.extraServersDir, owns: (name: string) => name.startsWith('placed.') };
    const root = front.ensureDocumentRoot('bob', 'placed.example');
    writeFileSync(join(root, 'index.html'), 'placed while stopped\n');
    const server = (host: string): string => `server {\n    listen ${FRONT_ADDRESS}:80;\n    server_name ${host};\n    root ${root};\n}\n`;
    writeFileSync(join(extra.folder, 'placed.gone.conf'), server('gone.example'));
    await front.stop();
    try {
      assert.deepEqual(front.placeServerFiles(extra, new Map([['placed.example.conf', server('placed.example')]])), { changed: true });
      assert.deepEqual(front.placeServerFiles(extra, new Map([['placed.example.conf', server('placed.example')]])), { changed: false });
      assert.deepEqual(readdirSync(extra.folder).filter(extra.owns), ['placed.example.conf'], 'the files it no longer wants are gone');
    } finally {
      await front.start();
    }
    const page = await probe(FRONT_ADDRESS, 'placed.example');
    assert.equal(page.kind === 'response' && page.body, 'placed while stopped\n');
    await (await front.prepareServerFiles(extra, new Map())).commit();
  });

  it('rewrites an nginx.conf of an older driver version, checked with every server file of both folders', async () => {
    const current = readFileSync(front.configFile, 'utf8');
    writeFileSync(front.configFile, `${current}# written by an older version\n`);
    writeFileSync(join(front.paths.extraServersDir, 'broken.conf'), 'server { not_a_directive on; }\n');
    try {
      // The whole configuration is checked now, so a broken file of another module refuses the change.
      await assert.rejects(front.apply(frontState(true)), /nginx rejected its configuration: .*not_a_directive/);
    } finally {
      rmSync(join(front.paths.extraServersDir, 'broken.conf'));
    }
    assert.match(readFileSync(front.configFile, 'utf8'), /older version/);
    assert.deepEqual(await front.apply(frontState(true)), { changed: true });
    assert.equal(readFileSync(front.configFile, 'utf8'), current);
    await front.apply(frontState(false));
  });

  it('keeps the last good configuration when nginx refuses a new one', async () => {
    const before = front.liveConfiguration();
    // The grammars let nothing through that nginx -t refuses, so break a certificate map entry (the certificates module's file) beside the new site.
    const tlsInclude = nginxCertificateMapEntryFile({ nginxDir: front.paths.tlsIncludeDir }, 'broken.example');
    mkdirSync(dirname(tlsInclude), { recursive: true });
    writeFileSync(tlsInclude, 'broken.example;\n');
    const broken = { domain: 'broken.example', account: 'alice', documentRoot: front.ensureDocumentRoot('alice', 'broken.example'), suspended: false };
    const errorLogSize = existsSync(front.paths.errorLog) ? statSync(front.paths.errorLog).size : 0;
    try {
      await assert.rejects(front.apply({ ...frontState(false), sites: [...frontState(false).sites, broken] }), /nginx rejected/);
    } finally {
      rmSync(tlsInclude);
    }
    // The check's complaint goes to its caller alone: in the instance's error log, a reload under
    // way for another module would read it as the master refusing that reload.
    const logged = existsSync(front.paths.errorLog) ? readFileSync(front.paths.errorLog, 'utf8').slice(errorLogSize) : '';
    assert.doesNotMatch(logged, /\[emerg\]/, 'the refused check wrote nothing to the error log');
    assert.equal(front.liveConfiguration(), before);
    assert.deepEqual(readdirSync(dirname(front.configFile)).filter((name) => name.endsWith('.candidate')), [], 'no candidate nginx.conf is left behind');
    assert.deepEqual(readdirSync(front.paths.sitesDir).filter((name) => name.endsWith('.candidate')), [], 'no candidate server file is left behind');
    assert.equal((await front.status()).running, true);
  });

  it('forwards a moved site to the node it moved to, each port to the same port, so the new node\'s HTTPS redirect answers without a loop', async () => {
    const movedRoot = mailNode.ensureDocumentRoot('alice', 'example.com');
    writeFileSync(join(movedRoot, 'moved.txt'), 'served by the node it moved to\n');
    await mailNode.apply({ sites: [{ domain: 'example.com', account: 'alice', documentRoot: movedRoot, suspended: false, httpsRedirect: true }], proxies: [] });
    const moved = { sites: [{ ...frontState(false).sites[0]!, forwardTo: MAIL_NODE_ADDRESS }], proxies: [] };
    assert.deepEqual(await front.apply(moved), { changed: true });
    for (const host of ['example.com', 'www.example.com']) {
      const overTls = await probe(FRONT_ADDRESS, host, { tls: true, path: '/moved.txt' });
      assert.equal(overTls.kind === 'response' ? `${overTls.status} ${overTls.body}` : overTls.error, '200 served by the node it moved to\n', host);
    }
    const plain = await probe(FRONT_ADDRESS, 'example.com', { path: '/moved.txt' });
    assert.ok(plain.kind === 'response' && plain.status === 301, 'the new node\'s redirect, passed on');
    assert.equal(plain.headers.location, 'https://example.com/moved.txt');
    // The file the front node still holds is not what it answers.
    assert.equal(existsSync(join(frontLayout.www('alice', 'example.com', 'public_html'), 'hello.txt')), true);
    const old = await probe(FRONT_ADDRESS, 'example.com', { tls: true, path: '/hello.txt' });
    assert.ok(old.kind === 'response' && old.status === 404);
    await assert.rejects(front.apply({ sites: [{ ...moved.sites[0]!, forwardTo: FRONT_ADDRESS }], proxies: [] }), /sites\[0\]\.forwardTo: must be another node/);
  });

  it('serves a site of long host names, in the shared server and in a server block of its own', async () => {
    const label = 'x'.repeat(60);
    // 187 characters: its files' names (with a candidate's suffix) stay within the 255 of a file name.
    const domain = `${label}.${label}.${label}.test`;
    const documentRoot = front.ensureDocumentRoot('long', domain);
    writeFileSync(join(documentRoot, 'hello.txt'), 'long hello\n');
    mkdirSync(frontLayout.www('long', 'logs'), { recursive: true });
    const php = { socket: frontLayout.run('php', 'long.sock'), logDir: frontLayout.www('long', 'logs'), settings: DEFAULT_PHP_SETTINGS };
    for (const settings of [DEFAULT_PHP_SETTINGS, { ...DEFAULT_PHP_SETTINGS, memoryLimitMb: 512 }]) {
      await front.apply({ sites: [{ domain, account: 'long', documentRoot, suspended: false, php: { ...php, settings } }], proxies: [] });
      const page = await probe(FRONT_ADDRESS, `www.${domain}`, { path: '/hello.txt', tls: true });
      assert.equal(page.kind === 'response' && page.body, 'long hello\n', `${settings.memoryLimitMb} MB: ${readdirSync(front.paths.sitesDir).join(', ')}`);
    }
  });
});
