/**
 * The MariaDB server of one node (Debian's mariadbd): its own datadir, socket and PID file under
 * the node root, bound to the node's address, started with --defaults-file so several servers
 * share one machine with the machine's own MariaDB untouched. The agent administers it as root
 * over its UNIX socket (unix_socket authentication, no password to keep). Every statement that
 * carries a customer's value goes through mysql2's placeholders: `??` escapes an identifier,
 * `?` a value; the names passed the grammar before they arrive here.
 */
import { spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import mysql from 'mysql2/promise';
import type { DaemonDriver, DriverContext, DriverStatus } from '../agent/driver.ts';
import { daemonConfigCheck, pidFileStatus, runningPid, stopByPidFile, waitFor } from '../agent/daemon-process.ts';
import type { Readable } from 'node:stream';
import { CommandError, run } from '../core/exec.ts';
import { commandInput, commandOutput } from '../core/command-stream.ts';
import { ConflictError, InternalError, NodeUnavailableError, NotFoundError, ValidationError } from '../core/errors.ts';
import { writeIfChanged } from '../core/files.ts';
import { accountOfName, assertAccountName } from './database-names.ts';
import { renderMariadbConfig, type MariadbPaths } from './mariadb-config.ts';
import { checkUsername, assertValid } from '../core/grammar.ts';
import { checkNodeAddress } from '../protocol/formats.ts';
import { NATIVE_PASSWORD_HASH, type DatabaseCredential, type DatabaseDigest, type DatabaseInfo, type DatabaseUserInfo } from '../protocol/databases.ts';

export const MARIADB_DAEMON = 'mariadb';
export const MARIADB_PORT = 3306;
const SERVER_USER = 'mysql';

export interface MariadbDriverOptions {
  port?: number;
  serverBinary?: string;
  installBinary?: string;
  dumpBinary?: string;
  clientBinary?: string;
}

/** `_` and `%` are wildcards in a database-level GRANT; escaped, the grant names one database only. */
const grantPattern = (database: string): string => database.replace(/[_%]/g, (c) => `\\${c}`);
const likePrefix = (account: string): string => `${account}\\_%`;
/** Consistent for InnoDB tables without locking them; routines and triggers come along. */
const DUMP_OPTIONS = ['--single-transaction', '--routines', '--triggers', '--skip-dump-date'];

export class MariadbDriver implements DaemonDriver {
  readonly name = MARIADB_DAEMON;
  readonly paths: MariadbPaths;
  readonly port: number;
  private readonly binaries: Required<Omit<MariadbDriverOptions, 'port'>>;
  private readonly asRoot = userInfo().uid === 0;
  private pool: mysql.Pool | undefined;

  constructor(
    private readonly context: DriverContext,
    options: MariadbDriverOptions = {},
  ) {
    const { layout } = context;
    this.paths = {
      configFile: layout.etc('mariadb', 'my.cnf'),
      dataDir: layout.lib('mariadb', 'data'),
      socket: layout.run('mariadb', 'mariadbd.sock'),
      pidFile: layout.run('mariadb', 'mariadbd.pid'),
      errorLog: layout.log('mariadb'),
    };
    this.port = options.port ?? MARIADB_PORT;
    this.binaries = {
      serverBinary: options.serverBinary ?? 'mariadbd',
      installBinary: options.installBinary ?? 'mariadb-install-db',
      dumpBinary: options.dumpBinary ?? 'mariadb-dump',
      clientBinary: options.clientBinary ?? 'mariadb',
    };
  }

  private render(): string {
    return renderMariadbConfig({ address: this.context.address, port: this.port, paths: this.paths, ...(this.asRoot ? { user: SERVER_USER } : {}) });
  }

  /** Folders mariadbd writes, owned by the mysql user when the agent is root. */
  private ensureFolders(): void {
    const { layout } = this.context;
    layout.ensure();
    for (const dir of [layout.lib('mariadb'), layout.run('mariadb')]) {
      mkdirSync(dir, { recursive: true, mode: 0o750 });
      if (this.asRoot) chownSync(dir, ...mysqlIds());
    }
    const log = this.paths.errorLog;
    if (!existsSync(log)) closeSync(openSync(log, 'a', 0o640));
    if (this.asRoot) chownSync(log, ...mysqlIds());
  }

  async start(): Promise<void> {
    this.ensureFolders();
    writeIfChanged(this.paths.configFile, this.render());
    if (!existsSync(`${this.paths.dataDir}/mysql`)) {
      // The system tables; root@localhost authenticates by the UNIX socket's peer, so no password exists to leak.
      await run(this.binaries.installBinary, [
        `--defaults-file=${this.paths.configFile}`, '--auth-root-authentication-method=socket', '--skip-test-db',
        ...(this.asRoot ? [`--user=${SERVER_USER}`] : []),
      ], { timeoutMs: 120_000 });
    }
    if (runningPid(this.paths.pidFile) === undefined) {
      await this.check();
      // mariadbd stays in the foreground; detached, it outlives an agent restart like the forking daemons do.
      const output = openSync(this.paths.errorLog, 'a');
      try {
        spawn(this.binaries.serverBinary, [`--defaults-file=${this.paths.configFile}`], { detached: true, stdio: ['ignore', output, output] }).unref();
      } finally {
        closeSync(output);
      }
      await waitFor(() => runningPid(this.paths.pidFile) !== undefined && existsSync(this.paths.socket), 60_000, `mariadbd of ${this.context.address} to listen`);
      this.context.log('mariadb started', { pid: runningPid(this.paths.pidFile), address: this.context.address });
    }
  }

  async stop(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
    this.pool = undefined;
    // InnoDB flushes on SIGTERM; a large buffer pool can take a while.
    await stopByPidFile(this.paths.pidFile, 60_000);
  }

  /** mariadbd refuses unknown or malformed options when asked to print its settings. */
  async check(): Promise<void> {
    await daemonConfigCheck(
      'mariadbd',
      this.name,
      () => run(this.binaries.serverBinary, [`--defaults-file=${this.paths.configFile}`, '--help', '--verbose'], { timeoutMs: 30_000 }),
      (stderr) => stderr.trim().split('\n').slice(-2).join(' '),
    );
  }

  /** Grants and users take effect at once; nothing of the configuration changes at run time. */
  async reload(): Promise<void> {}

  async status(): Promise<DriverStatus> {
    return pidFileStatus(this.name, this.paths.pidFile);
  }

  private admin(): mysql.Pool {
    if (runningPid(this.paths.pidFile) === undefined) throw new NodeUnavailableError(this.context.address, 'its MariaDB server is not running');
    this.pool ??= mysql.createPool({
      socketPath: this.paths.socket,
      user: 'root',
      connectionLimit: 4,
      // unix_socket sends nothing: the server checks the peer's uid.
      authPlugins: { unix_socket: () => () => Buffer.alloc(0) },
    });
    return this.pool;
  }

  private async exec(sql: string, values: string[] = []): Promise<void> {
    await this.admin().query(mysql.format(sql, values));
  }

  async createDatabase(account: string, name: string): Promise<void> {
    assertAccountName('name', account, name);
    await this.exec('CREATE DATABASE IF NOT EXISTS ?? CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci', [name]);
  }

  async dropDatabase(account: string, name: string): Promise<void> {
    assertAccountName('name', account, name);
    await this.exec('DROP DATABASE IF EXISTS ??', [name]);
  }

  /** Creates the user or changes its password; `host` is the only address it may connect from. */
  async setUser(account: string, user: string, password: string, host: string): Promise<void> {
    assertAccountName('user', account, user);
    assertValid('host', host, checkNodeAddress);
    if (typeof password !== 'string' || password.length === 0) throw new ValidationError('password', 'must not be empty');
    await this.identify(user, host, 'IDENTIFIED BY ?', password);
  }

  /** The same, with a mysql_native_password hash taken from another server (a transfer): the password itself never travels. */
  async setUserHash(account: string, user: string, passwordHash: string, host: string): Promise<void> {
    assertAccountName('user', account, user);
    assertValid('host', host, checkNodeAddress);
    if (!new RegExp(NATIVE_PASSWORD_HASH).test(passwordHash)) throw new ValidationError('passwordHash', "must be a mysql_native_password hash ('*' and 40 hex digits)");
    await this.identify(user, host, 'IDENTIFIED BY PASSWORD ?', passwordHash);
  }

  private async identify(user: string, host: string, clause: string, secret: string): Promise<void> {
    // A user allowed from another address before (the account's web node moved) is moved, keeping its grants.
    const [rows] = await this.admin().query<mysql.RowDataPacket[]>('SELECT Host AS host FROM mysql.user WHERE User = ?', [user]);
    const hosts = rows.map((row) => String(row.host));
    if (hosts.length > 0 && !hosts.includes(host)) await this.exec('RENAME USER ?@? TO ?@?', [user, hosts[0]!, user, host]);
    await this.exec(`CREATE USER IF NOT EXISTS ?@? ${clause}`, [user, host, secret]);
    await this.exec(`ALTER USER ?@? ${clause}`, [user, host, secret]);
  }

  /** Each user of the account with its password hash and its databases, for a transfer to another server. */
  async credentials(account: string): Promise<DatabaseCredential[]> {
    assertValid('account', account, checkUsername);
    const [rows] = await this.admin().query<mysql.RowDataPacket[]>('SELECT User AS name, plugin, authentication_string AS hash FROM mysql.user WHERE User LIKE ? ORDER BY User', [likePrefix(account)]);
    const grants = await this.listUsers(account);
    return rows.map((row) => {
      const name = String(row.name);
      const hash = String(row.hash ?? '');
      // Users made here are mysql_native_password; another plugin's secret could not be set again elsewhere.
      if (!new RegExp(NATIVE_PASSWORD_HASH).test(hash)) throw new ConflictError(`database user '${name}' authenticates with ${String(row.plugin) || 'no password'}, not a mysql_native_password hash; it cannot be moved with its password`, { user: name });
      return { name, passwordHash: hash, databases: grants.find((g) => g.name === name)?.databases ?? [] };
    });
  }

  /**
   * Locks (or unlocks) every user of the account and, when locking, ends their sessions: nothing
   * writes to the databases while a copy is taken that must stay the whole truth.
   */
  async lockUsers(account: string, locked: boolean): Promise<string[]> {
    const users = await this.listUsers(account);
    for (const user of users) await this.exec(`ALTER USER ?@? ACCOUNT ${locked ? 'LOCK' : 'UNLOCK'}`, [user.name, user.host]);
    if (locked) {
      const [sessions] = await this.admin().query<mysql.RowDataPacket[]>('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER LIKE ?', [likePrefix(account)]);
      // A session may end by itself meanwhile.
      for (const session of sessions) await this.admin().query(`KILL CONNECTION ${Number(session.id)}`).catch(() => undefined);
    }
    return users.map((u) => u.name);
  }

  /** Each base table with its row count and MariaDB's CHECKSUM TABLE: what a transfer compares between source and target. */
  async digest(account: string, name: string): Promise<DatabaseDigest> {
    assertAccountName('name', account, name);
    await this.requireDatabase(name);
    const [tables] = await this.admin().query<mysql.RowDataPacket[]>("SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", [name]);
    const result: DatabaseDigest['tables'] = [];
    for (const table of tables) {
      const tableName = String(table.name);
      const [count] = await this.admin().query<mysql.RowDataPacket[]>(mysql.format('SELECT COUNT(*) AS n FROM ??.??', [name, tableName]));
      const [checksum] = await this.admin().query<mysql.RowDataPacket[]>(mysql.format('CHECKSUM TABLE ??.??', [name, tableName]));
      const value = checksum[0]?.Checksum;
      result.push({ name: tableName, rows: Number(count[0]?.n ?? 0), checksum: value === null || value === undefined ? null : String(value) });
    }
    return { tables: result };
  }

  /** mariadb-dump of one database as a stream (a transfer's copy); it breaks off, never ends short, when the dump fails. */
  async dumpStream(account: string, name: string): Promise<Readable> {
    assertAccountName('name', account, name);
    await this.requireDatabase(name);
    return commandOutput(this.binaries.dumpBinary, [...this.clientArgs(), ...DUMP_OPTIONS, name], `mariadb-dump of ${name}`);
  }

  /**
   * The database made anew from a streamed dump (run again, the same result): dropped and created
   * empty first, so nothing of an earlier, broken attempt stays. Grants name the database and survive.
   */
  async restoreStream(account: string, name: string, input: Readable): Promise<void> {
    // The stream may break while the database is made anew: held here, it fails the restore instead of the process.
    let early: Error | undefined;
    const hold = (error: Error): void => void (early ??= error);
    input.on('error', hold);
    try {
      assertAccountName('name', account, name);
      await this.exec('DROP DATABASE IF EXISTS ??', [name]);
      await this.createDatabase(account, name);
    } catch (error) {
      input.resume();
      throw error;
    } finally {
      input.off('error', hold);
    }
    if (early) throw new Error(`the stream of the dump of ${name} broke off: ${(early as Error).message}`);
    await commandInput(input, this.binaries.clientBinary, [...this.clientArgs(), `--database=${name}`], `the dump of ${name}`, { failure: `the mariadb client could not restore ${name}` });
  }

  async dropUser(account: string, user: string): Promise<void> {
    assertAccountName('user', account, user);
    const [rows] = await this.admin().query<mysql.RowDataPacket[]>('SELECT Host AS host FROM mysql.user WHERE User = ?', [user]);
    for (const row of rows) await this.exec('DROP USER IF EXISTS ?@?', [user, String(row.host)]);
  }

  /** All privileges on one database of the same account, from the user's one host. */
  async grant(account: string, user: string, database: string): Promise<void> {
    assertAccountName('user', account, user);
    assertAccountName('database', account, database);
    const [rows] = await this.admin().query<mysql.RowDataPacket[]>('SELECT Host AS host FROM mysql.user WHERE User = ?', [user]);
    if (rows.length === 0) throw new NotFoundError('database user', user);
    for (const row of rows) await this.exec('GRANT ALL PRIVILEGES ON ??.* TO ?@?', [grantPattern(database), user, String(row.host)]);
  }

  async revoke(account: string, user: string, database: string): Promise<void> {
    assertAccountName('user', account, user);
    assertAccountName('database', account, database);
    const [rows] = await this.admin().query<mysql.RowDataPacket[]>('SELECT Host AS host FROM mysql.user WHERE User = ?', [user]);
    for (const row of rows) await this.exec('REVOKE ALL PRIVILEGES ON ??.* FROM ?@?', [grantPattern(database), user, String(row.host)]).catch(() => undefined);
  }

  /** The account's databases with their size (data and indexes, as information_schema reports it). */
  async listDatabases(account: string): Promise<DatabaseInfo[]> {
    assertValid('account', account, checkUsername);
    const [rows] = await this.admin().query<mysql.RowDataPacket[]>(
      `SELECT s.SCHEMA_NAME AS name, COALESCE(SUM(t.DATA_LENGTH + t.INDEX_LENGTH), 0) AS size
         FROM information_schema.SCHEMATA s LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME
        WHERE s.SCHEMA_NAME LIKE ? GROUP BY s.SCHEMA_NAME ORDER BY s.SCHEMA_NAME`,
      [likePrefix(account)],
    );
    return rows.map((row) => ({ name: String(row.name), sizeBytes: Number(row.size) }));
  }

  async listUsers(account: string): Promise<DatabaseUserInfo[]> {
    assertValid('account', account, checkUsername);
    const [users] = await this.admin().query<mysql.RowDataPacket[]>('SELECT User AS name, Host AS host FROM mysql.user WHERE User LIKE ? ORDER BY User', [likePrefix(account)]);
    const [grants] = await this.admin().query<mysql.RowDataPacket[]>('SELECT User AS name, Db AS db FROM mysql.db WHERE User LIKE ?', [likePrefix(account)]);
    return users.map((user) => ({
      name: String(user.name),
      host: String(user.host),
      databases: grants.filter((g) => g.name === user.name).map((g) => String(g.db).replace(/\\([_%])/g, '$1')).sort(),
    }));
  }

  /** Terminating an account: every database and user with its prefix goes. */
  async dropAccount(account: string): Promise<{ databases: string[]; users: string[] }> {
    const databases = (await this.listDatabases(account)).map((d) => d.name);
    const users = [...new Set((await this.listUsers(account)).map((u) => u.name))];
    for (const name of databases) await this.dropDatabase(accountOfName(name), name);
    for (const user of users) await this.dropUser(accountOfName(user), user);
    return { databases, users };
  }

  private clientArgs(): string[] {
    return ['--no-defaults', `--socket=${this.paths.socket}`, '--user=root'];
  }

  /** An SQL dump of one database (tables, data, routines), consistent for InnoDB tables. */
  async dump(account: string, name: string): Promise<string> {
    assertAccountName('name', account, name);
    await this.requireDatabase(name);
    const { stdout } = await run(this.binaries.dumpBinary, [...this.clientArgs(), ...DUMP_OPTIONS, name], { timeoutMs: 600_000 });
    return stdout;
  }

  /** Runs an SQL file (a dump) inside one database; the client stops at the first error. */
  async import(account: string, name: string, sql: string): Promise<void> {
    assertAccountName('name', account, name);
    await this.requireDatabase(name);
    try {
      await run(this.binaries.clientBinary, [...this.clientArgs(), `--database=${name}`], { input: sql, timeoutMs: 600_000 });
    } catch (error) {
      if (error instanceof CommandError) throw new ValidationError('sql', `the import into ${name} failed: ${error.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
      throw error;
    }
  }

  private async requireDatabase(name: string): Promise<void> {
    const [rows] = await this.admin().query<mysql.RowDataPacket[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name]);
    if (rows.length === 0) throw new NotFoundError('database', name);
  }
}

let cachedIds: [number, number] | undefined;

function mysqlIds(): [number, number] {
  if (!cachedIds) {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith(`${SERVER_USER}:`));
    if (!line) throw new InternalError(`the system user ${SERVER_USER} is missing; install mariadb-server (scripts/setup.sh)`);
    const [, , uid, gid] = line.split(':');
    cachedIds = [Number(uid), Number(gid)];
  }
  return cachedIds;
}
