/**
 * A real mariadbd of a node on ${TEST_NET}.42.10, with its datadir under a temporary node root:
 * databases and users of two accounts, grants that hold each user to its own account's
 * databases, sizes, dump and import, bad names refused, and termination dropping everything.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { MariadbDriver } from '../../src/databases/mariadb.driver.ts';
import { TEST_NET } from '../test-net.ts';

const ADDRESS = `${TEST_NET}.42.10`;
/** Loopback connections to any 127.x address leave from 127.0.0.1 (see README, Choices made). */
const CLIENT_HOST = '127.0.0.1';

describe('MariaDB driver against a real mariadbd', () => {
  let workDir: string;
  let driver: MariadbDriver;

  const connectAs = (user: string, password: string, database?: string): Promise<mysql.Connection> =>
    mysql.createConnection({ host: ADDRESS, port: 3306, user, password, ...(database ? { database } : {}) });

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'fleet-mariadb-'));
    chmodSync(workDir, 0o711);
    driver = new MariadbDriver({ layout: new NodeLayout(join(workDir, 'node')), address: ADDRESS, log: () => undefined });
    await driver.start();
  });

  after(async () => {
    await driver?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('listens on the node address only, beside the machine\'s own server', async () => {
    assert.equal((await driver.status()).running, true);
    await driver.start(); // idempotent
    const connection = await mysql.createConnection({ socketPath: driver.paths.socket, user: 'root', authPlugins: { unix_socket: () => () => Buffer.alloc(0) } });
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT @@bind_address AS bind, @@datadir AS datadir');
    await connection.end();
    assert.equal(rows[0]!.bind, ADDRESS);
    assert.ok(String(rows[0]!.datadir).startsWith(workDir));
  });

  it('creates databases and users, and a user reaches only the databases granted to it', async () => {
    await driver.createDatabase('alice', 'alice_shop');
    await driver.createDatabase('alice', 'alice_shop'); // idempotent
    await driver.createDatabase('bob', 'bob_blog');
    await driver.setUser('alice', 'alice_app', 'alice-secret-1', CLIENT_HOST);
    await driver.setUser('bob', 'bob_app', 'bob-secret-1', CLIENT_HOST);
    await driver.grant('alice', 'alice_app', 'alice_shop');
    await driver.grant('bob', 'bob_app', 'bob_blog');

    const alice = await connectAs('alice_app', 'alice-secret-1', 'alice_shop');
    await alice.query('CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(100))');
    await alice.query("INSERT INTO orders VALUES (1, 'first order'), (2, 'second order')");
    await assert.rejects(alice.query('SELECT * FROM bob_blog.nothing'), /denied/i);
    await alice.end();
    await assert.rejects(connectAs('alice_app', 'alice-secret-1', 'bob_blog'), /denied/i);
    await assert.rejects(connectAs('bob_app', 'alice-secret-1', 'alice_shop'), /denied/i);

    const users = await driver.listUsers('alice');
    assert.deepEqual(users, [{ name: 'alice_app', host: CLIENT_HOST, databases: ['alice_shop'] }]);
  });

  it('holds a grant to one database even though _ is a wildcard in GRANT', async () => {
    await driver.createDatabase('alice', 'alice_s1');
    await driver.createDatabase('alice', 'alice_sx1');
    await driver.setUser('alice', 'alice_narrow', 'narrow-secret-1', CLIENT_HOST);
    await driver.grant('alice', 'alice_narrow', 'alice_s1');
    const narrow = await connectAs('alice_narrow', 'narrow-secret-1');
    const [rows] = await narrow.query<mysql.RowDataPacket[]>('SHOW DATABASES');
    await narrow.end();
    const visible = rows.map((r) => String(r.Database));
    assert.ok(visible.includes('alice_s1'));
    assert.ok(!visible.includes('alice_sx1'));
  });

  it('changes a password: the old one stops working', async () => {
    await driver.setUser('alice', 'alice_app', 'alice-secret-2', CLIENT_HOST);
    await assert.rejects(connectAs('alice_app', 'alice-secret-1'), /denied/i);
    const again = await connectAs('alice_app', 'alice-secret-2', 'alice_shop');
    await again.end();
  });

  it('lists an account\'s databases with their size', async () => {
    const list = await driver.listDatabases('alice');
    assert.deepEqual(list.map((d) => d.name), ['alice_s1', 'alice_shop', 'alice_sx1']);
    assert.ok(list.find((d) => d.name === 'alice_shop')!.sizeBytes > 0);
    assert.deepEqual((await driver.listDatabases('bob')).map((d) => d.name), ['bob_blog']);
  });

  it('dumps a database and imports the dump into another', async () => {
    const dump = await driver.dump('alice', 'alice_shop');
    assert.match(dump, /CREATE TABLE `orders`/);
    assert.match(dump, /second order/);
    await driver.createDatabase('alice', 'alice_copy');
    await driver.import('alice', 'alice_copy', dump);
    await driver.grant('alice', 'alice_app', 'alice_copy');
    const copy = await connectAs('alice_app', 'alice-secret-2', 'alice_copy');
    const [rows] = await copy.query<mysql.RowDataPacket[]>('SELECT item FROM orders ORDER BY id');
    await copy.end();
    assert.deepEqual(rows.map((r) => r.item), ['first order', 'second order']);
    await assert.rejects(driver.import('alice', 'alice_copy', 'THIS IS NOT SQL;'), /sql: the import into alice_copy failed/);
    await assert.rejects(driver.dump('alice', 'alice_missing'), /does not exist/);
  });

  it('refuses names without the prefix, with quotes, backticks, % or 65 characters, naming the field', async () => {
    const bad = ['shop', 'bob_shop', "alice_x'y", 'alice_x`y', 'alice_x%', 'alice_', `alice_${'a'.repeat(59)}`, 'Alice_shop', 'alice_x y'];
    for (const name of bad) await assert.rejects(driver.createDatabase('alice', name), (e: Error) => /^name: /.test(e.message), name);
    await assert.rejects(driver.setUser('alice', 'alice_`x', 'pw', CLIENT_HOST), /^Error: user: |user: /);
    await assert.rejects(driver.setUser('alice', 'alice_ok', 'pw', "127.0.0.1' OR '1"), /host: /);
    // 64 characters is the limit, and passes.
    await driver.createDatabase('alice', `alice_${'a'.repeat(58)}`);
    await driver.dropDatabase('alice', `alice_${'a'.repeat(58)}`);
  });

  it('for a transfer: a streamed dump restores into a database made anew, a user set from its hash logs in with the same password, digests compare, locked users cannot log in', async () => {
    const sql = await text(await driver.dumpStream('alice', 'alice_shop'));
    assert.match(sql, /second order/);
    // Restored twice: the second run gives the same database, not doubled rows.
    for (let i = 0; i < 2; i++) await driver.restoreStream('alice', 'alice_moved', Readable.from([sql]));
    assert.deepEqual(await driver.digest('alice', 'alice_moved'), await driver.digest('alice', 'alice_shop'));
    const digest = await driver.digest('alice', 'alice_moved');
    assert.deepEqual(digest.tables.map((t) => [t.name, t.rows]), [['orders', 2]]);
    assert.match(digest.tables[0]!.checksum ?? '', /^\d+$/);

    const [credential] = (await driver.credentials('alice')).filter((c) => c.name === 'alice_app');
    assert.match(credential!.passwordHash, /^\*[0-9A-F]{40}$/);
    assert.ok(credential!.databases.includes('alice_shop'));
    // Moved by hash: the password itself is not needed, and works afterwards.
    await driver.setUserHash('alice', 'alice_hashed', credential!.passwordHash, CLIENT_HOST);
    await driver.grant('alice', 'alice_hashed', 'alice_moved');
    const hashed = await connectAs('alice_hashed', 'alice-secret-2', 'alice_moved');
    const [rows] = await hashed.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM orders');
    assert.equal(Number(rows[0]!.n), 2);
    await assert.rejects(driver.setUserHash('alice', 'alice_hashed', 'plain-password', CLIENT_HOST), /passwordHash: /);

    // Locking ends the open session too.
    assert.ok((await driver.lockUsers('alice', true)).includes('alice_hashed'));
    await assert.rejects(hashed.query('SELECT 1'));
    hashed.destroy();
    await assert.rejects(connectAs('alice_hashed', 'alice-secret-2'), /locked/i);
    await driver.lockUsers('alice', false);
    const unlocked = await connectAs('alice_hashed', 'alice-secret-2', 'alice_moved');
    await unlocked.end();

    // A broken stream fails the restore; the digest of a changed table differs.
    const broken = new Readable({ read() {} });
    broken.push('CREATE TABLE t (id INT);');
    setTimeout(() => broken.destroy(new Error('cut off')), 50);
    await assert.rejects(driver.restoreStream('alice', 'alice_moved', broken), /broke off/);
    await driver.restoreStream('alice', 'alice_moved', Readable.from([sql]));
    const writer = await connectAs('alice_hashed', 'alice-secret-2', 'alice_moved');
    await writer.query("UPDATE orders SET item = 'changed' WHERE id = 2");
    await writer.end();
    assert.notDeepEqual(await driver.digest('alice', 'alice_moved'), await driver.digest('alice', 'alice_shop'));
  });

  it('terminating an account drops its databases and users only', async () => {
    const dropped = await driver.dropAccount('alice');
    assert.deepEqual(dropped.databases.sort(), ['alice_copy', 'alice_moved', 'alice_s1', 'alice_shop', 'alice_sx1']);
    assert.deepEqual(dropped.users.sort(), ['alice_app', 'alice_hashed', 'alice_narrow']);
    assert.deepEqual(await driver.listDatabases('alice'), []);
    assert.deepEqual(await driver.listUsers('alice'), []);
    assert.deepEqual((await driver.listDatabases('bob')).map((d) => d.name), ['bob_blog']);
    const bob = await connectAs('bob_app', 'bob-secret-1', 'bob_blog');
    await bob.end();
  });
});
