/**
 * The PHP of one node: one pool per account that has a site here and is not suspended, held by
 * php-fpm masters of at most POOLS_PER_MASTER pools each. A master runs only while it has a pool
 * (php-fpm refuses to start without one); a pool goes away with its account's suspension, so
 * nothing of that account runs.
 * The web module uses it through the PhpPools interface.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonDriver, DriverContext, DriverStatus } from '../agent/driver.ts';
import { InternalError, ValidationError } from '../core/errors.ts';
import { writeIfChanged } from '../core/files.ts';
import { assertValid, checkDomain, checkUsername } from '../core/grammar.ts';
import { renderPhpPool, type PhpMasterPaths } from './php-fpm-config.ts';
import { PhpMaster } from './php-master.ts';
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
  /** Makes the masters of these accounts compile their scripts anew, after their sites' limits changed (PhpPoolsDriver). */
  recompileScripts(accounts: string[]): Promise<void>;
}

export interface PhpPoolsDriverOptions {
  phpFpmBinary?: string;
  /** how many pools one php-fpm master holds before the next master takes new accounts */
  poolsPerMaster?: number;
}

/**
 * php-fpm parses every pool of its master at each check and re-reads them all at each reload,
 * byte by byte (2,000 pools: 1.7 million read() calls, about 0.4 s each time on an idle machine),
 * so a node's pools are split among masters of this many at most, and a change to one account
 * costs what it costs on a node of that size.
 */
export const POOLS_PER_MASTER = 200;

export class PhpPoolsDriver implements DaemonDriver, PhpPools {
  readonly name = PHP_DAEMON;
  private readonly phpFpm: string;
  private readonly poolsPerMaster: number;
  private readonly masters = new Map<number, PhpMaster>();
  /**
   * Accounts whose user, home and pool file this driver put in place since the agent started and
   * whose master took the pool: a push of the node's whole web state then touches the new ones
   * alone, instead of checking thousands of homes and pool files on every change. The first push
   * after a start goes over every account, which repairs what changed meanwhile.
   */
  private readonly ready = new Set<string>();
  /** Changes under way (pool files written, masters starting or re-executing): not an outage. */
  private changing = 0;

  constructor(
    private readonly context: DriverContext,
    options: PhpPoolsDriverOptions = {},
  ) {
    this.phpFpm = options.phpFpmBinary ?? 'php-fpm8.2';
    this.poolsPerMaster = options.poolsPerMaster ?? POOLS_PER_MASTER;
    if (!Number.isInteger(this.poolsPerMaster) || this.poolsPerMaster < 1) throw new InternalError(`poolsPerMaster must be a whole number above 0, not ${this.poolsPerMaster}`);
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

  /**
   * Master 0 keeps the file names of the time a node had one master (php-fpm.conf, pool.d), so a
   * node that grows past one master leaves its first one as it was.
   */
  private master(index: number): PhpMaster {
    let master = this.masters.get(index);
    if (!master) {
      const { layout } = this.context;
      const suffix = index === 0 ? '' : `-${index}`;
      const paths: PhpMasterPaths = {
        configFile: layout.etc('php', `php-fpm${suffix}.conf`),
        poolDir: layout.etc('php', `pool${suffix}.d`),
        pidFile: layout.run('php', `php-fpm${suffix}.pid`),
        errorLog: layout.log(`php-fpm${suffix}`),
      };
      master = new PhpMaster(index, paths, this.phpFpm, (account) => this.socketOf(account), this.context.log);
      this.masters.set(index, master);
    }
    return master;
  }

  /** Every master that has a folder on this node, master 0 always among them. */
  private knownMasters(): PhpMaster[] {
    const folder = this.context.layout.etc('php');
    const indexes = new Set([0]);
    if (existsSync(folder)) {
      for (const name of readdirSync(folder)) {
        const match = /^pool-([1-9][0-9]{0,3})\.d$/.exec(name);
        if (match) indexes.add(Number(match[1]));
      }
    }
    return [...indexes].sort((a, b) => a - b).map((index) => this.master(index));
  }

  /** Which master holds each account's pool now. */
  private placement(): Map<string, PhpMaster> {
    const placed = new Map<string, PhpMaster>();
    for (const master of this.knownMasters()) for (const account of master.pools()) placed.set(account, master);
    return placed;
  }

  pools(): string[] {
    return [...this.placement().keys()].sort();
  }

  async start(): Promise<void> {
    mkdirSync(this.context.layout.run('php'), { recursive: true, mode: 0o755 });
    for (const master of this.knownMasters()) await master.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.knownMasters().map((master) => master.stop()));
  }

  async check(): Promise<void> {
    for (const master of this.knownMasters()) if (master.pools().length > 0) await master.check();
  }

  async reload(): Promise<void> {
    await this.reloadMasters(this.knownMasters());
  }

  /**
   * A re-execution of the accounts' masters, which starts their opcache afresh. opcache folds a
   * literal `ini_get()` of a setting that only the server may change, as PHP_ADMIN_VALUE's limits
   * are, into the script it caches: after a site's limits changed, its scripts compiled before
   * reported the old ones, though PHP applied the new (WordPress offered the old upload size).
   */
  async recompileScripts(accounts: string[]): Promise<void> {
    const placed = this.placement();
    await this.reloadMasters(new Set(accounts.flatMap((account) => placed.get(account) ?? [])));
  }

  /** Each master checks and re-reads its own pools, side by side; the first failure is thrown once all are done. */
  private async reloadMasters(masters: Iterable<PhpMaster>): Promise<void> {
    this.changing++;
    try {
      const results = await Promise.allSettled([...masters].map((master) => master.reload()));
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      this.changing--;
    }
  }

  /**
   * Without a pool there is nothing to run, and that is health, not an outage (the watchdog reads
   * this). With several masters no single PID stands for PHP, so none is given: the watchdog then
   * leaves the running masters alone and start() brings back the ones that are gone.
   */
  async status(): Promise<DriverStatus> {
    const held = this.knownMasters().map((master) => ({ master, pools: master.pools().length })).filter(({ pools }) => pools > 0);
    const masters = held.map(({ master }) => master);
    const pools = held.reduce((sum, { pools: count }) => sum + count, 0);
    if (pools === 0) return { name: this.name, running: true, detail: 'no pools: nothing to run' };
    if (this.changing > 0) return { name: this.name, running: true, detail: 'changing its pools' };
    const down = masters.filter((master) => master.pid() === undefined);
    const pid = masters.length === 1 ? masters[0]!.pid() : undefined;
    const detail = masters.length === 1 ? `${pools} pools` : `${pools} pools in ${masters.length} masters`;
    return {
      name: this.name,
      running: down.length === 0,
      ...(pid !== undefined ? { pid } : {}),
      detail: down.length === 0 ? detail : `${detail}; master ${down.map((master) => master.index).join(', ')} not running`,
    };
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

  private writePool(account: string, master: PhpMaster): boolean {
    const pool = renderPhpPool({ account, user: this.systemUser(account), home: this.homeOf(account), socket: this.socketOf(account), ...(lookupUser(WEB_USER) ? { listenOwner: WEB_USER } : {}) });
    mkdirSync(master.paths.poolDir, { recursive: true });
    return writeIfChanged(join(master.paths.poolDir, `${account}.conf`), pool);
  }

  /**
   * Writes the accounts' pool files, each where it is already or, when new, in the first master
   * with room, and returns the masters whose pools changed.
   */
  private writePools(accounts: Iterable<string>, placed: Map<string, PhpMaster>): Set<PhpMaster> {
    const changed = new Set<PhpMaster>();
    const counts = new Map<PhpMaster, number>();
    for (const master of placed.values()) counts.set(master, (counts.get(master) ?? 0) + 1);
    for (const account of accounts) {
      let master = placed.get(account);
      if (!master) {
        for (let index = 0; !master; index++) {
          const candidate = this.master(index);
          if ((counts.get(candidate) ?? 0) < this.poolsPerMaster) master = candidate;
        }
        counts.set(master, (counts.get(master) ?? 0) + 1);
        placed.set(account, master);
      }
      if (this.writePool(account, master)) changed.add(master);
    }
    return changed;
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

  /** The accounts not ready yet, with their users, homes and pool files put in place; returns the masters whose pools changed. */
  private async prepareFresh(accounts: Iterable<string>, placement: () => Map<string, PhpMaster>): Promise<{ fresh: string[]; changed: Set<PhpMaster> }> {
    const fresh = [...accounts].filter((account) => !this.ready.has(account));
    // Where every pool lives is read from the masters' folders: not for a change with no new pool.
    if (fresh.length === 0) return { fresh, changed: new Set() };
    await this.ensureUsers(fresh);
    for (const account of fresh) await this.prepareAccount(account);
    return { fresh, changed: this.writePools(fresh, placement()) };
  }

  private async addPools<T>(accounts: string[], alongside: () => Promise<T>): Promise<T> {
    const { fresh, changed } = await this.prepareFresh(accounts, () => this.placement());
    const [pools, other] = await Promise.allSettled([this.reloadMasters(changed), alongside()]);
    if (pools.status === 'rejected') throw pools.reason;
    for (const account of fresh) this.ready.add(account);
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
    const placed = this.placement();
    const removed = [...placed].filter(([account]) => !wanted.has(account));
    for (const [account] of removed) {
      placed.delete(account);
      this.ready.delete(account);
    }
    const { fresh, changed } = await this.prepareFresh(wanted, () => placed);
    for (const [account, master] of removed) {
      rmSync(join(master.paths.poolDir, `${account}.conf`), { force: true });
      changed.add(master);
    }
    await this.reloadMasters(changed);
    for (const account of fresh) this.ready.add(account);
    // A master leaves a removed pool's socket file behind; nothing listens on it any more.
    for (const [account] of removed) rmSync(this.socketOf(account), { force: true });
    return { changed: changed.size > 0 };
  }

  /** Terminating an account: its pool, its files and its system user. */
  async removeAccount(account: string): Promise<void> {
    const pools = this.pools().filter((a) => a !== account);
    await this.apply(pools);
    rmSync(this.homeOf(account), { recursive: true, force: true });
    await removeSystemUser(this.systemUser(account));
  }
}

/** lchown keeps symbolic links pointing where they did, without following them out of the home. */
function chownTree(path: string, uid: number, gid: number): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  chownSync(path, uid, gid);
  if (stat.isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}
