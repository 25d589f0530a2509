/**
 * Web and DNS end to end on a real cluster: parent on 127.0.36.1 (nginx, PowerDNS, its own node
 * with every role) and mail1 on 127.0.36.2 (mail role). Accounts are made through the API; the
 * site is fetched over HTTP with the Host header and the zone is asked with dig, so every
 * assertion reads what the daemons really serve.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTestCluster, callApi, type ApiResult } from './cluster-fixture.ts';
import { probe } from '../web/http-probe.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { SUSPENSION_PAGE, SUSPENSION_STATUS } from '../../src/web/nginx-config.ts';
import type { RecordView, ZoneView } from '../../src/dns/dns.service.ts';
import { TEST_NET } from '../test-net.ts';

const PARENT = `${TEST_NET}.36.1`;
const MAIL_CHILD = `${TEST_NET}.36.2`;
const PASSWORD = 'violet-tugboat-marmalade-91';
const SITE = 'webby-site.test';

const fixture = useTestCluster({ block: `${TEST_NET}.36`, children: [{ alias: 'mail1', roles: ['mail'], link: 'token' }] });

function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token = fixture.info.token): Promise<ApiResult<T>> {
  return callApi<T>(fixture.info.url, method, path, body, token);
}

async function login(username: string): Promise<string> {
  const result = await api<{ token: string }>('POST', '/api/session', { username, password: PASSWORD }, '');
  assert.equal(result.status, 201, result.body.message);
  return result.body.token;
}

/** dig's short answers, sorted, so a test does not depend on the order PowerDNS returns a set in. */
function dig(name: string, type: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('dig', [`@${PARENT}`, '-p', '53', '+short', '+norecurse', '+time=2', '+tries=2', name, type], (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout.split('\n').filter(Boolean).sort());
    });
  });
}

const parentLayout = (): NodeLayout => new NodeLayout(fixture.cluster.nodeRoot('parent'));
/** nginx.conf and the server files it includes (one per site), as the parent's node serves them. */
const nginxConf = (): string => {
  const sitesDir = parentLayout().etc('nginx', 'sites.d');
  const servers = existsSync(sitesDir) ? readdirSync(sitesDir).filter((name) => name.endsWith('.conf')).sort() : [];
  return [readFileSync(parentLayout().etc('nginx', 'nginx.conf'), 'utf8'), ...servers.map((name) => readFileSync(join(sitesDir, name), 'utf8'))].join('');
};
const zoneOf = async (username: string): Promise<ZoneView> => {
  const result = await api<ZoneView>('GET', `/api/accounts/${username}/dns/records`);
  assert.equal(result.status, 200, result.body.message);
  return result.body;
};

async function createAccount(username: string, domain: string, extra: Record<string, unknown> = {}): Promise<void> {
  const created = await api('POST', '/api/accounts', { username, domain, password: PASSWORD, ...extra });
  assert.equal(created.status, 201, created.body.message);
}

describe('web and DNS workloads on a real cluster', () => {
  before(() => {
    // mkdtemp makes the cluster folder 0700; nginx's workers run as www-data and must traverse it to reach the document roots.
    chmodSync(fixture.dir, 0o755);
  });

  test('a new account serves its site over HTTP (and www.) and its zone answers MX, A, NS and the mail names', async () => {
    await createAccount('webby', SITE);
    for (const host of [SITE, `www.${SITE}`]) {
      const page = await probe(PARENT, host);
      assert.equal(page.kind, 'response');
      assert.equal(page.kind === 'response' && page.status, 200, `${host} answers 200`);
      assert.match(page.kind === 'response' ? page.body : '', new RegExp(SITE.replace('.', '\\.')));
    }
    assert.deepEqual(await dig(SITE, 'MX'), [`10 mail.${SITE}.`]);
    assert.deepEqual(await dig(SITE, 'A'), [PARENT]);
    assert.deepEqual(await dig(`www.${SITE}`, 'A'), [PARENT]);
    assert.deepEqual(await dig(SITE, 'NS'), [`ns1.${SITE}.`]);
    assert.deepEqual(await dig(`ns1.${SITE}`, 'A'), [PARENT]);
    for (const host of ['mail', 'webmail', 'autoconfig', 'autodiscover']) assert.deepEqual(await dig(`${host}.${SITE}`, 'A'), [PARENT], `${host}.`);
    assert.equal((await dig(SITE, 'SOA')).length, 1, 'PowerDNS made the SOA');
    const zone = await zoneOf('webby');
    assert.equal(zone.proxiedFrom, 'parent');
    assert.ok(zone.records.every((r) => r.managed && r.id === null));
  });

  test("the mail names follow the account's mail node while the site stays on the parent", async () => {
    await createAccount('farmail', 'farmail-site.test', { mailNode: 'mail1' });
    assert.deepEqual(await dig('farmail-site.test', 'A'), [PARENT]);
    for (const host of ['mail', 'webmail', 'autoconfig', 'autodiscover']) assert.deepEqual(await dig(`${host}.farmail-site.test`, 'A'), [MAIL_CHILD], `${host}.`);
  });

  test('suspend shows the suspension page; unsuspend restores the site', async () => {
    assert.equal((await api('POST', '/api/accounts/webby/suspend', {})).status, 200);
    for (const host of [SITE, `www.${SITE}`]) {
      const page = await probe(PARENT, host);
      assert.deepEqual(page.kind === 'response' && [page.status, page.body.trim()], [SUSPENSION_STATUS, SUSPENSION_PAGE]);
    }
    assert.deepEqual(await dig(SITE, 'A'), [PARENT], 'the zone keeps answering so visitors reach the page');
    assert.equal((await api('POST', '/api/accounts/webby/unsuspend', {})).status, 200);
    const page = await probe(PARENT, SITE);
    assert.equal(page.kind === 'response' && page.status, 200);
  });

  test('AAAA records exist only while the account has IPv6 on (with the node IPv6 set)', async () => {
    const set = await fixture.cli(['dns', 'node-ipv6', 'parent', 'fd00:36::1']);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(await dig(SITE, 'AAAA'), [], 'IPv6 is off for the account');
    assert.equal((await api('PUT', '/api/accounts/webby', { ipv6: true })).status, 200);
    assert.deepEqual(await dig(SITE, 'AAAA'), ['fd00:36::1']);
    assert.deepEqual(await dig(`www.${SITE}`, 'AAAA'), ['fd00:36::1']);
    assert.deepEqual(await dig(`mail.${SITE}`, 'AAAA'), ['fd00:36::1']);
    assert.deepEqual(await dig('farmail-site.test', 'AAAA'), [], 'another account without IPv6 has none');
    assert.equal((await api('PUT', '/api/accounts/webby', { ipv6: false })).status, 200);
    assert.deepEqual(await dig(SITE, 'AAAA'), []);
  });

  test('user records: add, list and remove by the user and the CLI; another user gets 403 and nothing changes', async () => {
    const webby = await login('webby');
    const spf = await api<{ proxiedFrom: string; record: RecordView }>('POST', '/api/accounts/webby/dns/records', { name: '@', type: 'TXT', content: 'v=spf1 mx -all' }, webby);
    assert.equal(spf.status, 201, spf.body.message);
    assert.equal(spf.body.proxiedFrom, 'parent');
    const blog = await api<{ record: RecordView }>('POST', '/api/accounts/webby/dns/records', { name: 'blog', type: 'A', ttl: 300, content: '192.0.2.7' }, webby);
    assert.equal(blog.status, 201, blog.body.message);
    assert.equal(blog.body.record.name, `blog.${SITE}`);
    assert.deepEqual(await dig(SITE, 'TXT'), ['"v=spf1 mx -all"']);
    assert.deepEqual(await dig(`blog.${SITE}`, 'A'), ['192.0.2.7']);

    const listed = await api<ZoneView>('GET', '/api/accounts/webby/dns/records', undefined, webby);
    assert.equal(listed.body.proxiedFrom, 'parent');
    assert.deepEqual(
      listed.body.records.filter((r) => !r.managed).map((r) => [r.id, r.name, r.type, r.content]).sort(),
      [[spf.body.record.id, SITE, 'TXT', 'v=spf1 mx -all'], [blog.body.record.id, `blog.${SITE}`, 'A', '192.0.2.7']].sort(),
    );

    // The managed names stay Fleetpanel's.
    for (const [body, field] of [
      [{ name: 'mail', type: 'A', content: '192.0.2.8' }, 'name'],
      [{ name: '@', type: 'MX', content: '5 mx.elsewhere.test' }, 'name'],
      [{ name: 'www', type: 'CNAME', content: 'elsewhere.test' }, 'name'],
      [{ name: 'sub', type: 'NS', content: 'ns.elsewhere.test' }, 'type'],
    ] as const) {
      const refused = await api('POST', '/api/accounts/webby/dns/records', body, webby);
      assert.equal(refused.status, 400, JSON.stringify(body));
      assert.equal(refused.body.field, field);
      assert.match(refused.body.message ?? '', /managed by Fleetpanel/);
    }

    const before = await zoneOf('webby');
    const farmail = await login('farmail');
    assert.equal((await api('GET', '/api/accounts/webby/dns/records', undefined, farmail)).status, 403);
    assert.equal((await api('POST', '/api/accounts/webby/dns/records', { name: 'x', type: 'A', content: '192.0.2.9' }, farmail)).status, 403);
    assert.equal((await api('DELETE', `/api/accounts/webby/dns/records/${blog.body.record.id}`, undefined, farmail)).status, 403);
    // Nor can he remove webby's record through his own account.
    assert.equal((await api('DELETE', `/api/accounts/farmail/dns/records/${blog.body.record.id}`, undefined, farmail)).status, 404);
    assert.deepEqual(await zoneOf('webby'), before);

    const cliAdd = await fixture.cli(['--json', 'dns', 'record', 'add', 'webby', 'cli', 'TXT', 'made by the cli', '--ttl', '600']);
    assert.equal(cliAdd.code, 0, cliAdd.stderr);
    const cliId = (JSON.parse(cliAdd.stdout) as { record: RecordView }).record.id!;
    const cliList = await fixture.cli(['dns', 'record', 'list', 'webby']);
    assert.match(cliList.stdout, /cli\.webby-site\.test\s+600\s+TXT\s+made by the cli/);
    assert.match(cliList.stdout, /from node parent/);
    const cliRefused = await fixture.cli(['dns', 'record', 'add', 'webby', 'mail', 'A', '192.0.2.1']);
    assert.equal(cliRefused.code, 2);
    assert.match(cliRefused.stderr, /^fleetpanel: name: .*managed by Fleetpanel/);
    assert.equal((await fixture.cli(['dns', 'record', 'remove', 'webby', String(cliId)])).code, 0);
    assert.deepEqual(await dig(`cli.${SITE}`, 'TXT'), []);

    const removed = await api('DELETE', `/api/accounts/webby/dns/records/${blog.body.record.id}`, undefined, webby);
    assert.equal(removed.status, 200, removed.body.message);
    assert.deepEqual(await dig(`blog.${SITE}`, 'A'), []);
  });

  test('bad inputs are refused with 400 naming the field; nginx.conf and the zone are unchanged', async () => {
    const confBefore = nginxConf();
    const zoneBefore = await zoneOf('webby');
    const long = 'a'.repeat(64);
    const cases: [string, Record<string, unknown>, string][] = [
      ['newline in name', { name: 'a\nb', type: 'A', content: '192.0.2.1' }, 'name'],
      ['newline in TXT', { name: 'x', type: 'TXT', content: 'a\nb' }, 'content'],
      ['quote in name', { name: 'a"b', type: 'A', content: '192.0.2.1' }, 'name'],
      ['quote in A', { name: 'x', type: 'A', content: '192.0.2.1"' }, 'content'],
      ['semicolon in name', { name: 'a;b', type: 'A', content: '192.0.2.1' }, 'name'],
      ['braces in CNAME', { name: 'x', type: 'CNAME', content: 'a{b}.test' }, 'content'],
      ['semicolon in MX', { name: 'x', type: 'MX', content: '10 mx.test; evil' }, 'content'],
      ['space in name', { name: 'a b', type: 'A', content: '192.0.2.1' }, 'name'],
      ['NUL in name', { name: 'a\u0000b', type: 'A', content: '192.0.2.1' }, 'name'],
      ['NUL in TXT', { name: 'x', type: 'TXT', content: 'a\u0000b' }, 'content'],
      ['64-character label', { name: long, type: 'A', content: '192.0.2.1' }, 'name'],
      ['254-character name', { name: Array.from({ length: 8 }, () => 'b'.repeat(31)).join('.') + '.x', type: 'A', content: '192.0.2.1' }, 'name'],
      ['unicode look-alike name', { name: 'wwе', type: 'A', content: '192.0.2.1' }, 'name'],
      ['unicode look-alike host', { name: 'x', type: 'CNAME', content: 'exаmple.test' }, 'content'],
      ['path traversal', { name: '../etc', type: 'A', content: '192.0.2.1' }, 'name'],
      ['empty name', { name: '', type: 'A', content: '192.0.2.1' }, 'name'],
      ['empty content', { name: 'x', type: 'TXT', content: '' }, 'content'],
      ['unknown type', { name: 'x', type: 'SOA', content: 'a' }, 'type'],
      ['TTL out of range', { name: 'x', type: 'A', ttl: 1, content: '192.0.2.1' }, 'ttl'],
      ['IPv6 in an A record', { name: 'x', type: 'A', content: '::1' }, 'content'],
      ['unknown field', { name: 'x', type: 'A', content: '192.0.2.1', zone: 'other.test' }, 'zone'],
    ];
    for (const [label, body, field] of cases) {
      const result = await api('POST', '/api/accounts/webby/dns/records', body);
      assert.equal(result.status, 400, `${label}: ${result.status} ${result.body.message}`);
      assert.equal(result.body.field, field, `${label}: ${result.body.message}`);
    }
    for (const [label, domain] of [
      ['newline', 'bad\nsite.test'],
      ['braces', 'bad{site}.test'],
      ['space', 'bad site.test'],
      ['64-character label', `${long}.test`],
      ['254-character domain', `${Array.from({ length: 8 }, () => 'c'.repeat(31)).join('.')}.test`],
      ['unicode look-alike', 'wеbby-site.test'],
      ['empty', ''],
    ]) {
      const result = await api('POST', '/api/accounts', { username: 'badsite', domain, password: PASSWORD });
      assert.equal(result.status, 400, `${label}: ${result.status} ${result.body.message}`);
      assert.equal(result.body.field, 'domain', label);
    }
    assert.equal((await api('GET', '/api/accounts/webby/dns/records/x')).status, 404);
    assert.equal((await api('DELETE', '/api/accounts/webby/dns/records/abc')).status, 400);
    assert.equal(nginxConf(), confBefore, 'nginx.conf is byte-for-byte unchanged');
    assert.deepEqual(await zoneOf('webby'), zoneBefore, 'the zone is record-for-record unchanged');
  });

  test('terminate removes the zone, the vhost and the document root from the node', async () => {
    const documentRoot = parentLayout().www('webby');
    assert.ok(existsSync(documentRoot));
    const terminated = await api('DELETE', '/api/accounts/webby');
    assert.equal(terminated.status, 200, terminated.body.message);
    assert.deepEqual(await dig(SITE, 'SOA'), []);
    assert.deepEqual(await dig(SITE, 'A'), []);
    assert.ok(!existsSync(documentRoot), 'the document root is gone');
    assert.ok(!nginxConf().includes(SITE), 'nginx.conf no longer names the site');
    assert.equal((await probe(PARENT, SITE)).kind, 'closed', 'nginx refuses the unknown host');
    assert.deepEqual(await dig('farmail-site.test', 'A'), [PARENT], "the other account's zone stays");
  });
});
