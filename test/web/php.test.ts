/**
 * PHP per account on a real node (${TEST_NET}.42.20): nginx and php-fpm masters (here of one pool
 * each, so Alice's and Bob's pools have masters of their own) with one pool per account, each as
 * its own system user confined to its home. Alice's PHP cannot read Bob's files; front-controller
 * URLs reach index.php; per-site limits and logs; suspension removes the pool (no process of the
 * account is left, Bob's master untouched) and unsuspension brings it back; a master that died is
 * reported and started again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { NginxDriver } from '../../src/web/nginx.driver.ts';
import { PhpPoolsDriver, type PhpPools } from '../../src/php/php-pools.driver.ts';
import { applySites, type SiteRequest } from '../../src/web/apply-sites.ts';
import { AppliedWebState, type WebStateStep } from '../../src/web/applied-web-state.ts';
import { ACCOUNT_ID_RANGE, lookupUser, removeNodeUsers } from '../../src/php/system-users.ts';
import { SUSPENSION_STATUS } from '../../src/web/nginx-config.ts';
import { probe } from './http-probe.ts';
import { TEST_NET } from '../test-net.ts';
import { processesOf } from '../processes.ts';
import { isAlive, readPid, waitFor } from '../../src/agent/daemon-process.ts';

const ADDRESS = `${TEST_NET}.42.20`;

describe('PHP pools per account behind nginx', () => {
  let workDir: string;
  let layout: NodeLayout;
  let nginx: NginxDriver;
  let php: PhpPoolsDriver;

  const sites = (aliceSuspended = false): SiteRequest[] => [
    { domain: 'alice.test', account: 'alice', suspended: aliceSuspended, php: { memoryLimitMb: 96, uploadMaxMb: 8, maxExecutionSeconds: 20 } },
    { domain: 'bob.test', account: 'bob', suspended: false },
  ];
  const applied = new AppliedWebState();
  let digest = '';
  const applyStep = async (step: WebStateStep): Promise<void> => {
    await applySites(nginx, php, step);
    digest = step.done();
  };
  const change = (put: SiteRequest[], removedSites: string[] = []): WebStateStep => applied.change({ base: digest, sites: { put, removed: removedSites }, proxies: { put: [], removed: [] } });
  const page = async (host: string, path: string): Promise<{ status: number; body: string }> => {
    const result = await probe(ADDRESS, host, { path });
    assert.equal(result.kind, 'response', `${host}${path}: ${result.kind === 'closed' ? result.error : ''}`);
    return result as { status: number; body: string };
  };

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'fleet-php-'));
    chmodSync(workDir, 0o711);
    layout = new NodeLayout(join(workDir, 'node'));
    layout.ensure();
    chmodSync(layout.root, 0o711);
    chmodSync(layout.www(), 0o711);
    const context = { layout, address: ADDRESS, log: () => undefined };
    nginx = new NginxDriver(context);
    php = new PhpPoolsDriver(context, { poolsPerMaster: 1 });
    await nginx.start();
    await php.start();
    await applyStep(applied.whole({ sites: sites(), proxies: [] }));
    writeFileSync(join(layout.www('alice', 'alice.test', 'public_html'), 'index.php'), [
      '<?php',
      'header("Content-Type: text/plain");',
      'echo "user=" . posix_getpwuid(posix_geteuid())["name"] . "\\n";',
      'echo "uri=" . $_SERVER["REQUEST_URI"] . "\\n";',
      'echo "memory_limit=" . ini_get("memory_limit") . "\\n";',
      'echo "upload_max_filesize=" . ini_get("upload_max_filesize") . "\\n";',
      'echo "max_execution_time=" . ini_get("max_execution_time") . "\\n";',
      'ini_set("memory_limit", "2G"); echo "raised=" . ini_get("memory_limit") . "\\n";',
      'if (isset($_GET["read"])) { $r = file_get_contents($_GET["read"]); echo "read=" . ($r === false ? "refused" : $r) . "\\n"; echo "error=" . (error_get_last()["message"] ?? "") . "\\n"; }',
    ].join('\n'));
    writeFileSync(join(layout.www('bob', 'bob.test', 'public_html'), 'secret.txt'), 'bob-secret-content\n');
    writeFileSync(join(layout.www('bob', 'bob.test', 'public_html'), 'settings.php'), [
      '<?php',
      'header("Content-Type: text/plain");',
      'echo "user=" . posix_getpwuid(posix_geteuid())["name"] . "\\n";',
      'echo "memory_limit=" . ini_get("memory_limit") . "\\n";',
      'echo "max_execution_time=" . ini_get("max_execution_time") . "\\n";',
      'error_log("bob was here");',
      'echo "admin=" . str_replace("\\n", " ", $_SERVER["PHP_ADMIN_VALUE"] ?? "") . "\\n";',
    ].join('\n'));
    await php.giveToAccount('alice', layout.www('alice', 'alice.test'));
    await php.giveToAccount('bob', layout.www('bob', 'bob.test'));
  });

  after(async () => {
    await php?.stop();
    await nginx?.stop();
    if (layout) await removeNodeUsers(layout.root);
    if (workDir && !process.env.FLEETPANEL_KEEP_TEST_DIRS) rmSync(workDir, { recursive: true, force: true });
  });

  it('runs each account\'s PHP as its own system user, with the site\'s own limits that scripts cannot raise', async () => {
    const { status, body } = await page('alice.test', '/');
    assert.equal(status, 200);
    assert.match(body, new RegExp(`^user=${php.systemUser('alice')}$`, 'm'));
    assert.match(body, /^memory_limit=96M$/m);
    assert.match(body, /^upload_max_filesize=8M$/m);
    assert.match(body, /^max_execution_time=20$/m);
    assert.match(body, /^raised=96M$/m);
    assert.equal(php.systemUser('alice').length <= 32, true, 'user name within 32 characters');
    assert.notEqual(php.systemUser('alice'), php.systemUser('bob'));
    // Not from the system range (100 to 999), which about 850 accounts used up.
    const { uid, gid } = lookupUser(php.systemUser('alice'))!;
    for (const id of [uid, gid]) assert.ok(id >= ACCOUNT_ID_RANGE.lowest && id <= ACCOUNT_ID_RANGE.highest, `id ${id} in the accounts' range`);
  });

  it("gives a site with the default settings those settings and its own PHP error log, from nginx's shared server and http level", async () => {
    const { status, body } = await page('bob.test', '/settings.php');
    assert.equal(status, 200, body);
    assert.match(body, new RegExp(`^user=${php.systemUser('bob')}$`, 'm'));
    assert.match(body, /^memory_limit=256M$/m);
    assert.match(body, /^max_execution_time=60$/m);
    assert.match(readFileSync(layout.www('bob', 'logs', 'bob.test.php-error.log'), 'utf8'), /bob was here/);
    assert.equal(existsSync(join(layout.etc('nginx', 'sites.d'), 'site-bob.test.conf')), false, 'no server block of its own');
    assert.match(readFileSync(join(layout.etc('nginx', 'sites.d'), 'site-bob.test.map'), 'utf8'), /^https:bob\.test \S+\/bob\/bob\.test\/public_html;$/m);
  });

  it('passes front-controller URLs to index.php', async () => {
    const { status, body } = await page('alice.test', '/2026/12/hello-world/?p=1');
    assert.equal(status, 200, body);
    assert.match(body, /^uri=\/2026\/12\/hello-world\/\?p=1$/m);
    assert.equal((await page('bob.test', '/no/such/page')).status, 404);
  });

  it('keeps Alice\'s PHP out of Bob\'s files, by open_basedir and by file permissions', async () => {
    const bobSecret = join(layout.www('bob', 'bob.test', 'public_html'), 'secret.txt');
    assert.equal((await page('bob.test', '/secret.txt')).body, 'bob-secret-content\n');
    const { body } = await page('alice.test', `/?read=${encodeURIComponent(bobSecret)}`);
    assert.match(body, /^read=refused$/m);
    assert.match(readFileSync(layout.www('alice', 'logs', 'alice.test.php-error.log'), 'utf8'), /open_basedir restriction in effect/);
    assert.doesNotMatch(body, /bob-secret-content/);
    // Even without open_basedir, Alice's user cannot enter Bob's home.
    const aliceUser = lookupUser(php.systemUser('alice'))!;
    const cat = spawnSync('cat', [bobSecret], { uid: aliceUser.uid, gid: aliceUser.gid, encoding: 'utf8' });
    assert.notEqual(cat.status, 0);
    assert.match(cat.stderr, /Permission denied/);
  });

  it("writes per-site access and PHP error logs into the account's logs folder, through nginx's workers", async () => {
    // Alice's site has a server block of its own (its own limits), Bob's is in the shared server.
    const aliceLog = layout.www('alice', 'logs', 'alice.test.access.log');
    const bobLog = layout.www('bob', 'logs', 'bob.test.access.log');
    assert.match(readFileSync(aliceLog, 'utf8'), /GET \/\?read=/);
    assert.match(readFileSync(bobLog, 'utf8'), /GET \/settings\.php /);
    // Opened by a worker, not by the master as root (which would follow a link the account put there): the agent made them the workers'.
    if (process.getuid?.() === 0) for (const log of [aliceLog, bobLog]) assert.equal(statSync(log).uid, lookupUser('www-data')!.uid, log);
    // nginx's own error lines go to the node's error log: error_log is opened by the master.
    assert.equal(existsSync(layout.www('alice', 'logs', 'alice.test.error.log')), false);
  });

  it('holds the pools in masters of at most poolsPerMaster, reported as one service', async () => {
    assert.deepEqual(readdirSync(layout.etc('php', 'pool.d')), ['alice.conf']);
    assert.deepEqual(readdirSync(layout.etc('php', 'pool-1.d')), ['bob.conf']);
    const status = await php.status();
    assert.equal(status.running, true);
    assert.equal(status.detail, '2 pools in 2 masters');
    assert.equal(status.pid, undefined, 'no single PID stands for two masters');
  });

  it('a master that died is reported, and start() brings back that one alone, its orphaned workers gone', async () => {
    writeFileSync(join(layout.www('bob', 'bob.test', 'public_html'), 'hello.php'), '<?php echo "hello from " . posix_getpwuid(posix_geteuid())["name"];', { mode: 0o644 });
    const bob = lookupUser(php.systemUser('bob'))!;
    assert.equal((await page('bob.test', '/hello.php')).status, 200);
    const orphans = processesOf(bob.uid);
    assert.notDeepEqual(orphans, [], 'a worker of bob runs');
    const bobMaster = readPid(layout.run('php', 'php-fpm-1.pid'))!;
    const aliceMaster = readPid(layout.run('php', 'php-fpm.pid'))!;
    process.kill(bobMaster, 'SIGKILL');
    await waitFor(() => !isAlive(bobMaster), 5000, 'the master to die');
    const down = await php.status();
    assert.equal(down.running, false);
    assert.match(down.detail ?? '', /master 1 not running/);
    await php.start();
    assert.equal((await php.status()).running, true);
    assert.notEqual(readPid(layout.run('php', 'php-fpm-1.pid')), bobMaster);
    assert.equal(readPid(layout.run('php', 'php-fpm.pid')), aliceMaster, 'alice\'s master kept running');
    assert.deepEqual(orphans.filter((pid) => isAlive(pid)), [], 'the dead master\'s workers are gone');
    assert.equal((await page('bob.test', '/hello.php')).body, `hello from ${php.systemUser('bob')}`);
  });

  it('suspension answers with the suspension page and stops the pool; unsuspension brings it back', async () => {
    await page('alice.test', '/'); // a worker is running now
    const bobMasterFile = layout.run('php', 'php-fpm-1.pid');
    const bobMasterSince = statSync(bobMasterFile).mtimeMs;
    const alice = lookupUser(php.systemUser('alice'))!;
    assert.notDeepEqual(processesOf(alice.uid), [], 'a worker of alice runs');
    // From here on the agent's way: each step a change against the state the one before left.
    await applyStep(change(sites(true).filter((s) => s.account === 'alice')));
    const suspended = await page('alice.test', '/');
    assert.equal(suspended.status, SUSPENSION_STATUS);
    assert.match(suspended.body, /suspended/);
    assert.equal(existsSync(php.socketOf('alice')), false, 'the pool socket is gone');
    assert.deepEqual(php.pools(), ['bob']);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(processesOf(alice.uid), []);
    assert.equal((await page('bob.test', '/secret.txt')).status, 200);
    assert.equal(existsSync(layout.run('php', 'php-fpm.pid')), false, 'alice\'s master stopped with its last pool');

    await applyStep(change(sites(false).filter((s) => s.account === 'alice')));
    const back = await page('alice.test', '/');
    assert.equal(back.status, 200);
    assert.match(back.body, /^memory_limit=96M$/m);
    assert.deepEqual(readdirSync(layout.etc('php', 'pool.d')), ['alice.conf'], 'back in the master with room');
    assert.equal(statSync(bobMasterFile).mtimeMs, bobMasterSince, 'bob\'s master neither checked nor re-executed');
  });

  it('removing an account removes its pool, home and system user', async () => {
    await applyStep(change([], ['alice.test']));
    assert.equal(existsSync(join(layout.etc('nginx', 'sites.d'), 'site-alice.test.conf')), false, 'its server file is gone');
    await php.removeAccount('alice');
    assert.equal(lookupUser(php.systemUser('alice')), undefined);
    assert.equal(existsSync(layout.www('alice')), false, 'home removed');
    assert.deepEqual(php.pools(), ['bob']);
  });

  it('a new site is served as soon as its change is applied; when its pool fails, nginx goes back to what it served', async () => {
    const carol: SiteRequest = { domain: 'carol.test', account: 'carol', suspended: false };
    // nginx reloads beside php-fpm for a change of new sites alone: this php-fpm refuses after
    // both ran, so nginx has taken the new site when the failure comes.
    const refusing: PhpPools = Object.create(php, {
      add: {
        value: async <T>(accounts: string[], alongside: () => Promise<T>): Promise<T> => {
          await php.add(accounts, alongside);
          throw new Error('php-fpm refused the pool');
        },
      },
    });
    await assert.rejects(applySites(nginx, refusing, change([carol])), /php-fpm refused the pool/);
    assert.deepEqual(readdirSync(layout.etc('nginx', 'sites.d')).filter((name) => name.includes('carol')), [], 'its file in the shared server is gone again');
    assert.equal((await probe(ADDRESS, 'carol.test', { path: '/' })).kind, 'closed', 'an unknown host again: no answer');
    assert.equal((await page('bob.test', '/secret.txt')).status, 200);

    await applyStep(change([carol]));
    writeFileSync(join(layout.www('carol', 'carol.test', 'public_html'), 'who.php'), '<?php echo posix_getpwuid(posix_geteuid())["name"];', { mode: 0o644 });
    const served = await page('carol.test', '/who.php');
    assert.equal(served.status, 200, served.body);
    assert.equal(served.body, php.systemUser('carol'));
  });

  it('moves a site between the shared server and a server block of its own as its settings change, and its cached scripts see the new limits', async () => {
    const sitesDir = layout.etc('nginx', 'sites.d');
    const bobFiles = (): string[] => readdirSync(sitesDir).filter((name) => name.startsWith('site-bob.test.'));
    // opcache caches a script once its file is two seconds old: this one is, and it is cached
    // now, compiled while its limits were the defaults.
    const settingsFile = join(layout.www('bob', 'bob.test', 'public_html'), 'settings.php');
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(settingsFile, longAgo, longAgo);
    assert.match((await page('bob.test', '/settings.php')).body, /^memory_limit=256M$/m);

    await applyStep(change([{ domain: 'bob.test', account: 'bob', suspended: false, php: { memoryLimitMb: 128, uploadMaxMb: 64, maxExecutionSeconds: 60 } }]));
    assert.deepEqual(bobFiles(), ['site-bob.test.conf']);
    const limited = (await page('bob.test', '/settings.php')).body;
    assert.match(limited, /^admin=memory_limit=128M /m, 'what nginx passes');
    assert.match(limited, /^memory_limit=128M$/m, 'what the cached script reads: compiled anew under the new limits');
    await applyStep(change([{ domain: 'bob.test', account: 'bob', suspended: false }]));
    assert.deepEqual(bobFiles(), ['site-bob.test.map']);
    const unlimited = (await page('bob.test', '/settings.php')).body;
    assert.match(unlimited, /^admin=memory_limit=256M /m);
    assert.match(unlimited, /^memory_limit=256M$/m);
    assert.equal((await page('carol.test', '/who.php')).status, 200, 'the other shared site still served');
  });

  it("lets a request under way finish when a change re-executes its account's master", async () => {
    writeFileSync(join(layout.www('bob', 'bob.test', 'public_html'), 'busy.php'), '<?php $t = microtime(true); while (microtime(true) - $t < 1.5) {} echo "finished";', { mode: 0o644 });
    const masterFile = layout.run('php', 'php-fpm-1.pid');
    const masterSince = statSync(masterFile).mtimeMs;
    const underWay = probe(ADDRESS, 'bob.test', { path: '/busy.php' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await applyStep(change([{ domain: 'bob.test', account: 'bob', suspended: false, php: { memoryLimitMb: 192, uploadMaxMb: 64, maxExecutionSeconds: 60 } }]));
    assert.ok(statSync(masterFile).mtimeMs > masterSince, "bob's master re-executed");
    const finished = await underWay;
    assert.deepEqual(finished.kind === 'response' ? [finished.status, finished.body] : [finished.error], [200, 'finished']);
    assert.match((await page('bob.test', '/settings.php')).body, /^memory_limit=192M$/m);
  });
});
