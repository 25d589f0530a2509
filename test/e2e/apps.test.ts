/**
 * Issue 13 on a real local cluster: the parent (web) on ${TEST_NET}.42.1 and a DATABASE child db1
 * on .42.2. WordPress is installed on a site at the parent with its database on the child, set
 * up through its own install form over HTTP; a post published through its admin form shows on
 * the home page and in `db dump`. Account A's PHP can neither read B's files nor use B's
 * database; suspension stops the pool and shows the suspension page; bad names are refused;
 * terminating an account drops its databases on the child.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import mysql from 'mysql2/promise';
import { useTestCluster, callApi } from './cluster-fixture.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { accountSystemUser, lookupUser } from '../../src/php/system-users.ts';
import { SUSPENSION_STATUS } from '../../src/web/nginx-config.ts';
import { TEST_NET } from '../test-net.ts';
import { processesOf } from '../processes.ts';

const PASSWORD = 'violet-tugboat-marmalade-91';
const ADMIN_PASSWORD = 'wp-admin-heron-lantern-58';

const fixture = useTestCluster({ block: `${TEST_NET}.42`, children: [{ alias: 'db1', roles: ['database'], link: 'token' }] });

interface Page {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A browser of one site on its web node: the Host header picks the site, cookies are kept. */
class SiteBrowser {
  private readonly cookies = new Map<string, string>([['wordpress_test_cookie', 'WP%20Cookie%20check']]);
  constructor(
    private readonly address: string,
    private readonly host: string,
  ) {}

  fetch(method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<Page> {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          host: this.address,
          port: 80,
          path,
          method,
          timeout: 120_000,
          headers: {
            Host: this.host,
            cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
            ...(body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } : {}),
          },
        },
        (incoming) => {
          for (const line of incoming.headers['set-cookie'] ?? []) {
            const [pair] = line.split(';');
            const at = pair!.indexOf('=');
            this.cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
          }
          const chunks: Buffer[] = [];
          incoming.on('data', (c: Buffer) => chunks.push(c));
          incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: incoming.headers }));
          incoming.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.on('timeout', () => outgoing.destroy(new Error(`timeout on ${path}`)));
      outgoing.end(body);
    });
  }
}

/** The value of a form field in a page: <input ... name="NAME" ... value="VALUE">. */
function field(html: string, name: string): string {
  const tag = new RegExp(`<input[^>]*name=['"]${name}['"][^>]*>`).exec(html)?.[0];
  const value = tag && /value=['"]([^'"]*)['"]/.exec(tag)?.[1];
  assert.ok(value !== undefined, `no field ${name} in the page`);
  return value;
}

describe('PHP sites, databases on a DATABASE child and WordPress', () => {
  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => callApi<T>(fixture.info.url, method, path, body, fixture.info.token);
  const web = (): string => fixture.address('parent');
  const docroot = (account: string, domain: string): string => new NodeLayout(fixture.cluster.nodeRoot('parent')).www(account, domain, 'public_html');
  const configValue = (account: string, domain: string, name: string): string =>
    new RegExp(`define\\('${name}', '([^']*)'\\)`).exec(readFileSync(join(docroot(account, domain), 'wp-config.php'), 'utf8'))![1]!;

  it('creates two accounts with PHP sites', async () => {
    for (const [username, domain] of [['alice', 'alice.test'], ['bob', 'bob.test']]) {
      const created = await api('POST', '/api/accounts', { username, domain, password: PASSWORD });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
  });

  it('installs WordPress on alice.test with its database on db1, and leaves it at the setup page', async () => {
    const result = await fixture.cli(['--json', 'app', 'install', 'wordpress', '--site', 'alice.test']);
    assert.equal(result.code, 0, result.stderr);
    const view = JSON.parse(result.stdout) as { database: string; databaseNode: string; webNode: string; setupUrl: string };
    assert.deepEqual([view.database, view.databaseNode, view.webNode], ['alice_wp', 'db1', 'parent']);
    assert.equal(configValue('alice', 'alice.test', 'DB_HOST'), `${fixture.address('db1')}:3306`);
    const setup = await new SiteBrowser(web(), 'alice.test').fetch('GET', '/wp-admin/install.php');
    assert.equal(setup.status, 200);
    // Debian's package ships translations, so the setup starts with WordPress's language choice.
    assert.match(setup.body, /name="weblog_title"|id="setup"|language-chooser/);
  });

  it('completes the install over HTTP, publishes a post through the admin form, and the post is on the home page and in the dump', async () => {
    const browser = new SiteBrowser(web(), 'alice.test');
    const installed = await browser.fetch('POST', '/wp-admin/install.php?step=2', {
      weblog_title: 'Alice Bakes', user_name: 'alice', admin_password: ADMIN_PASSWORD, admin_password2: ADMIN_PASSWORD, pw_weak: '1', admin_email: 'alice@alice.test', blog_public: '0', language: '',
    });
    assert.match(installed.body, /Success!/);
    const login = await browser.fetch('POST', '/wp-login.php', { log: 'alice', pwd: ADMIN_PASSWORD, 'wp-submit': 'Log In', testcookie: '1', redirect_to: '/wp-admin/' });
    assert.equal(login.status, 302, login.body.slice(0, 500));
    const editor = await browser.fetch('GET', '/wp-admin/post-new.php');
    assert.equal(editor.status, 200);
    const postId = field(editor.body, 'post_ID');
    const published = await browser.fetch('POST', '/wp-admin/post.php', {
      _wpnonce: field(editor.body, '_wpnonce'), action: 'editpost', originalaction: 'editpost', post_ID: postId, post_type: 'post',
      original_post_status: 'auto-draft', post_title: 'Sourdough on the cluster', content: 'Proofed overnight on a database child.', visibility: 'public', publish: 'Publish',
    });
    assert.equal(published.status, 302, published.body.slice(0, 500));
    const home = await new SiteBrowser(web(), 'alice.test').fetch('GET', '/');
    assert.equal(home.status, 200);
    assert.match(home.body, /Sourdough on the cluster/);
    const pretty = await new SiteBrowser(web(), 'alice.test').fetch('GET', `/?p=${postId}`);
    assert.match(pretty.body, /Proofed overnight/);

    const dump = await fixture.cli(['db', 'dump', 'alice_wp']);
    assert.equal(dump.code, 0, dump.stderr);
    assert.match(dump.stdout, /Sourdough on the cluster/);
    const list = await fixture.cli(['--json', 'db', 'list', 'alice']);
    const listed = JSON.parse(list.stdout) as { databases: { name: string; node: string; sizeBytes: number }[] };
    assert.equal(listed.databases[0]!.name, 'alice_wp');
    assert.equal(listed.databases[0]!.node, 'db1');
    assert.ok(listed.databases[0]!.sizeBytes > 0);
  });

  it('installs and sets up WordPress for bob in one command', async () => {
    const result = await fixture.cli(['app', 'install', 'wordpress', '--site', 'bob.test', '--title', 'Bob Builds', '--admin-password-stdin'], ADMIN_PASSWORD);
    assert.equal(result.code, 0, result.stderr);
    const home = await new SiteBrowser(web(), 'bob.test').fetch('GET', '/');
    assert.match(home.body, /Bob Builds/);
  });

  it("keeps alice's PHP out of bob's files and bob's database", async () => {
    const bobConfig = join(docroot('bob', 'bob.test'), 'wp-config.php');
    const probe = join(docroot('alice', 'alice.test'), 'probe.php');
    writeFileSync(probe, [
      '<?php',
      'header("Content-Type: text/plain");',
      'mysqli_report(MYSQLI_REPORT_OFF);',
      `$r = @file_get_contents('${bobConfig}'); echo "file=" . ($r === false ? "refused" : "READ") . "\\n";`,
      `$c = @mysqli_connect('${fixture.address('db1')}', 'alice_wp', '${configValue('alice', 'alice.test', 'DB_PASSWORD')}', 'bob_wp');`,
      'echo "bobdb=" . ($c ? "CONNECTED" : mysqli_connect_error()) . "\\n";',
      `$o = @mysqli_connect('${fixture.address('db1')}', 'alice_wp', '${configValue('alice', 'alice.test', 'DB_PASSWORD')}', 'alice_wp');`,
      'echo "owndb=" . ($o ? "connected" : mysqli_connect_error()) . "\\n";',
    ].join('\n'));
    const user = lookupUser(accountSystemUser(fixture.cluster.nodeRoot('parent'), 'alice'))!;
    const { chownSync } = await import('node:fs');
    chownSync(probe, user.uid, user.gid);
    const page = await new SiteBrowser(web(), 'alice.test').fetch('GET', '/probe.php');
    assert.equal(page.status, 200, page.body);
    assert.match(page.body, /^file=refused$/m);
    assert.match(page.body, /^bobdb=Access denied for user 'alice_wp'/m);
    assert.match(page.body, /^owndb=connected$/m);
  });

  it('suspension shows the suspension page and stops the pool; unsuspension brings the site back', async () => {
    const user = lookupUser(accountSystemUser(fixture.cluster.nodeRoot('parent'), 'alice'))!;
    assert.equal((await fixture.cli(['account', 'suspend', 'alice'])).code, 0);
    const page = await new SiteBrowser(web(), 'alice.test').fetch('GET', '/');
    assert.equal(page.status, SUSPENSION_STATUS);
    assert.match(page.body, /suspended/);
    const pools = readFileSync(join(fixture.cluster.nodeRoot('parent'), 'etc', 'php', 'php-fpm.conf'), 'utf8');
    assert.match(pools, /include = /);
    assert.deepEqual(readdirSync(join(fixture.cluster.nodeRoot('parent'), 'etc', 'php', 'pool.d')), ['bob.conf']);
    await new Promise((r) => setTimeout(r, 1000));
    const running = processesOf(user.uid);
    assert.deepEqual(running, [], 'no process of alice is left');
    assert.equal((await fixture.cli(['account', 'unsuspend', 'alice'])).code, 0);
    const back = await new SiteBrowser(web(), 'alice.test').fetch('GET', '/');
    assert.equal(back.status, 200);
    assert.match(back.body, /Sourdough on the cluster/);
  });

  it('refuses bad database and user names with the field named, and changes nothing', async () => {
    for (const name of ['bob_shop', "alice_x'y", 'alice_x`y', 'alice_x%', `alice_${'a'.repeat(59)}`, 'shop']) {
      const cli = await fixture.cli(['db', 'create', 'alice', name]);
      assert.equal(cli.code, 2, `${name}: ${cli.stderr}`);
      assert.match(cli.stderr, /name: /);
      const viaApi = await api('POST', '/api/accounts/alice/databases', { name });
      assert.equal(viaApi.status, 400);
      assert.equal(viaApi.body.field, 'name');
    }
    const user = await api('PUT', '/api/accounts/alice/database-users/alice_x%25', { password: PASSWORD });
    assert.equal(user.status, 400);
    assert.equal(user.body.field, 'user');
    const weak = await api('PUT', '/api/accounts/alice/database-users/alice_weak', { password: 'password1' });
    assert.equal(weak.status, 400);
    assert.equal(weak.body.field, 'password');
    const list = await api<{ databases: { name: string }[]; users: { name: string }[] }>('GET', '/api/accounts/alice/databases');
    assert.deepEqual(list.body.databases.map((d) => d.name), ['alice_wp']);
    assert.deepEqual(list.body.users.map((u) => u.name), ['alice_wp']);
  });

  it("terminating bob drops bob's databases and users on db1", async () => {
    assert.equal((await fixture.cli(['account', 'terminate', 'bob'])).code, 0);
    const socket = new NodeLayout(fixture.cluster.nodeRoot('db1')).run('mariadb', 'mariadbd.sock');
    const root = await mysql.createConnection({ socketPath: socket, user: 'root', authPlugins: { unix_socket: () => () => Buffer.alloc(0) } });
    const [dbs] = await root.query<mysql.RowDataPacket[]>("SHOW DATABASES LIKE 'bob\\_%'");
    const [users] = await root.query<mysql.RowDataPacket[]>("SELECT User FROM mysql.user WHERE User LIKE 'bob\\_%'");
    const [alice] = await root.query<mysql.RowDataPacket[]>("SHOW DATABASES LIKE 'alice\\_%'");
    await root.end();
    assert.deepEqual([dbs.length, users.length, alice.length], [0, 0, 1]);
  });
});
