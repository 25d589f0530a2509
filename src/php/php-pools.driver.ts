/**
 * The PHP of one node: a php-fpm master with one pool per account that has a site here and is
 * not suspended. The master runs only while there is a pool (php-fpm refuses to start without
 * one); a pool goes away with its account's suspension, so nothing of that account runs.
 * The web module uses it through the PhpPools interface.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonDriver, DriverContext, DriverStatus } from '../agent/driver.ts';
import { daemonConfigCheck, runningPid, stopByPidFile, waitFor } from '../agent/daemon-process.ts';
import { run } from '../core/exec.ts';
import { InternalError, ValidationError } from '../core/errors.ts';
import { writeIfChanged } from '../core/files.ts';
import { assertValid, checkDomain, checkUsername } from '../core/grammar.ts';
import { launchDaemon } from '../core/daemon-launch.ts';
import { renderPhpMaster, renderPhpPool, type PhpMasterPaths } from './php-fpm-config.ts';
import { accountSystemUser, ensureSystemUser, ensureSystemUsers, lookupUser, removeSystemUser, type SystemUser } from './system-users.ts';

export const PHP_DAEMON = 'php';
/** nginx's workers; the only other user that may read an account's home (static files). */
const WEB_USER = 'www-data';

/** What the web module needs of PHP: pools for exactly these accounts, and each one's socket. */
export interface PhpPools {
  /**
   * Makes sure the accounts have pools, leaving the others (before nginx sends requests to them).
   * `alongside` runs once their users and homes exist, while the master checks and takes the
   * pools; add waits for both and throws the first failure (the pools' before `alongside`'s).
   */
  add<T>(accounts: string[], alongside: () => Promise<T>): Promise<T>;
  /** Pools for exactly these accounts (after nginx stopped sending requests to the others). */
  apply(accounts: string[]): Promise<{ changed: boolean }>;
  socketOf(account: string): string;
  /** The account's home: its sites, logs/ and tmp/. */
  homeOf(account: string): string;
  /** Whether the site's folder exists in the account's home already. */
  hasHome(account: string, domain: string): Promise<boolean>;
  /** Hands a folder below the home (new site files) to the account's user. */
  giveToAccount(account: string, path: string): Promise<void>;
  removeAccount(account: string): Promise<void>;
}

export interface PhpPoolsDriverOptions {
  phpFpmBinary?: string;
}

export class PhpPoolsDriver implements DaemonDriver, PhpPools {
  readonly name = PHP_DAEMON;
  readonly paths: PhpMasterPaths;
  private readonly phpFpm: string;
  /** Changes under way (pool files written, master starting or re-executing): not an outage. */
  private changing = 0;

  constructor(
    private readonly context: DriverContext,
    options: PhpPoolsDriverOptions = {},
  ) {
    const { layout } = context;
    this.paths = {
      configFile: layout.etc('php', 'php-fpm.conf'),
      poolDir: layout.etc('php', 'pool.d'),
      pidFile: layout.run('php', 'php-fpm.pid'),
      errorLog: layout.log('php-fpm'),
    };
    this.phpFpm = options.phpFpmBinary ?? 'php-fpm8.2';
  }

  socketOf(account: string): string {
    return this.context.layout.run('php', `${assertValid('account', account, checkUsername)}.sock`);
  }

  homeOf(account: string): string {
    return this.context.layout.www(assertValid('account', account, checkUsername));
  }

  hasHome(account: string, domain: string): Promise<boolean> {
    return Promise.resolve(existsSync(join(this.homeOf(account), assertValid('domain', domain, checkDomain))));
  }

  systemUser(account: string): string {
    return accountSystemUser(this.context.layout.root, account);
  }

  pools(): string[] {
    if (!existsSync(this.paths.poolDir)) return [];
    return readdirSync(this.paths.poolDir).filter((f) => f.endsWith('.conf')).map((f) => f.slice(0, -'.conf'.length)).sort();
  }

  async start(): Promise<void> {
    mkdirSync(this.context.layout.run('php'), { recursive: true, mode: 0o755 });
    mkdirSync(this.paths.poolDir, { recursive: true });
    writeIfChanged(this.paths.configFile, renderPhpMaster(this.paths));
    if (this.pools().length === 0 || runningPid(this.paths.pidFile) !== undefined) return;
    await this.check();
    await launchDaemon(this.phpFpm, ['--fpm-config', this.paths.configFile], this.paths.errorLog);
    await waitFor(() => runningPid(this.paths.pidFile) !== undefined && this.pools().every((a) => existsSync(this.socketOf(a))), 10_000, `php-fpm of ${this.context.address} to listen`);
    this.context.log('php-fpm started', { pid: runningPid(this.paths.pidFile), pools: this.pools().length });
  }

  async stop(): Promise<void> {
    await stopByPidFile(this.paths.pidFile);
  }

  async check(): Promise<void> {
    await daemonConfigCheck('php-fpm', this.name, () => run(this.phpFpm, ['--fpm-config', this.paths.configFile, '-t']));
  }

  /** SIGUSR2: the master re-reads its pools, starts new ones and ends the workers of removed ones. */
  async reload(): Promise<void> {
    const pid = runningPid(this.paths.pidFile);
    if (pid === undefined) return this.start();
    if (this.pools().length === 0) return this.stop();
    await this.check();
    // SIGUSR2 makes the master re-execute itself: its PID file goes and comes back newer. Until
    // then status() reports the reload, so the watchdog does not take it for a crash.
    const before = pidFileTime(this.paths.pidFile);
    this.changing++;
    try {
      process.kill(pid, 'SIGUSR2');
      await waitFor(() => (pidFileTime(this.paths.pidFile) ?? 0) > (before ?? 0) && runningPid(this.paths.pidFile) !== undefined && this.pools().every((a) => existsSync(this.socketOf(a))), 10_000, 'php-fpm to reload its pools');
    } finally {
      this.changing--;
    }
  }

  /** Without a pool there is nothing to run, and that is health, not an outage (the watchdog reads this). */
  async status(): Promise<DriverStatus> {
    const pools = this.pools().length;
    const pid = runningPid(this.paths.pidFile);
    if (pools === 0) return { name: this.name, running: true, detail: 'no pools: nothing to run' };
    if (this.changing > 0) return { name: this.name, running: true, detail: 'changing its pools' };
    return { name: this.name, running: pid !== undefined, ...(pid !== undefined ? { pid } : {}), detail: `${pools} pools` };
  }

  /** The account's user, and its home laid out: owned by it, readable by nginx's group, by nobody else. */
  private async prepareAccount(account: string): Promise<SystemUser> {
    const home = this.homeOf(account);
    const user = await ensureSystemUser(this.systemUser(account), home);
    mkdirSync(home, { recursive: true });
    for (const dir of ['logs', 'tmp']) mkdirSync(join(home, dir), { recursive: true });
    if (statSync(home).uid !== user.uid) await this.giveToAccount(account, home);
    chmodSync(home, 0o750);
    chmodSync(join(home, 'tmp'), 0o700);
    return user;
  }

  async giveToAccount(account: string, path: string): Promise<void> {
    const home = this.homeOf(account);
    if (path !== home && !path.startsWith(`${home}/`)) throw new ValidationError({ message: `${path} is not below the home of ${account}` });
    const user = lookupUser(this.systemUser(account));
    if (!user) throw new InternalError(`account ${account} has no system user on this node yet`);
    chownTree(path, user.uid, user.gid);
    // The home's group is nginx's, so it can serve static files that other accounts cannot read.
    chownSync(home, user.uid, lookupUser(WEB_USER)?.gid ?? user.gid);
  }

  private writePool(account: string): boolean {
    const pool = renderPhpPool({ account, user: this.systemUser(account), home: this.homeOf(account), socket: this.socketOf(account), ...(lookupUser(WEB_USER) ? { listenOwner: WEB_USER } : {}) });
    return writeIfChanged(join(this.paths.poolDir, `${account}.conf`), pool);
  }

  async add<T>(accounts: string[], alongside: () => Promise<T>): Promise<T> {
    this.changing++;
    try {
      return await this.addPools(accounts, alongside);
    } finally {
      this.changing--;
    }
  }

  /** The system users of all these accounts, those missing created together. */
  private async ensureUsers(accounts: Iterable<string>): Promise<void> {
    await ensureSystemUsers([...accounts].map((account) => ({ name: this.systemUser(account), home: this.homeOf(account) })));
  }

  private async addPools<T>(accounts: string[], alongside: () => Promise<T>): Promise<T> {
    let changed = false;
    await this.ensureUsers(accounts);
    for (const account of accounts) {
      await this.prepareAccount(account);
      changed = this.writePool(account) || changed;
    }
    const [pools, other] = await Promise.allSettled([changed ? this.reload() : Promise.resolve(), alongside()]);
    if (pools.status === 'rejected') throw pools.reason;
    if (other.status === 'rejected') throw other.reason;
    return other.value;
  }

  async apply(accounts: string[]): Promise<{ changed: boolean }> {
    this.changing++;
    try {
      return await this.applyPools(accounts);
    } finally {
      this.changing--;
    }
  }

  private async applyPools(accounts: string[]): Promise<{ changed: boolean }> {
    const wanted = new Set(accounts.map((a) => assertValid('account', a, checkUsername)));
    let changed = false;
    await this.ensureUsers(wanted);
    for (const account of wanted) {
      await this.prepareAccount(account);
      changed = this.writePool(account) || changed;
    }
    const removed = this.pools().filter((account) => !wanted.has(account));
    for (const account of removed) rmSync(join(this.paths.poolDir, `${account}.conf`), { force: true });
    if (changed || removed.length > 0) await this.reload();
    // The master leaves a removed pool's socket file behind; nothing listens on it any more.
    for (const account of removed) rmSync(this.socketOf(account), { force: true });
    return { changed: changed || removed.length > 0 };
  }

  /** Terminating an account: its pool, its files and its system user. */
  async removeAccount(account: string): Promise<void> {
    const pools = this.pools().filter((a) => a !== account);
    await this.apply(pools);
    rmSync(this.homeOf(account), { recursive: true, force: true });
    await removeSystemUser(this.systemUser(account));
  }
}

function pidFileTime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** lchown keeps symbolic links pointing where they did, without following them out of the home. */
function chownTree(path: string, uid: number, gid: number): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  chownSync(path, uid, gid);
  if (stat.isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}
