/**
 * The webmail of one node: a php-fpm instance of its own (`php-fpm8.2 --fpm-config <conf>`, so
 * several nodes share one machine) running Roundcube with a per-node configuration, and the
 * server block that the node's nginx includes. The PID file named in the config is the only
 * handle on the instance.
 */
import { TLS_KEY_READER } from '../agent/tls-files.ts';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename } from 'node:path';
import type { DaemonDriver, DaemonProbe, DriverContext, DriverStatus } from '../agent/driver.ts';
import { greetingProbe } from '../agent/probes.ts';
import { daemonConfigCheck, pidFileStatus, runningPid, stopByPidFile, waitFor } from '../agent/daemon-process.ts';
import { run } from '../core/exec.ts';
import { ensureSystemUser, type SystemUser } from '../php/system-users.ts';
import { writeFileAtomic, writeIfChanged } from '../core/files.ts';
import { launchDaemon } from '../core/daemon-launch.ts';
import {
  ROUNDCUBE_PACKAGED_CONFIG,
  WEBMAIL_SERVER_FILE,
  heldDomainFiles,
  isWebmailServerFile,
  renderPhpFpmConfig,
  renderRoundcubeConfig,
  renderWebmailServer,
  type WebmailPaths,
} from './webmail-config.ts';
import type { NginxServerFiles, ServerFileGroup } from '../web/nginx.driver.ts';

export const WEBMAIL_DAEMON = 'webmail';
/**
 * Roundcube's user when the agent runs as root: not nginx's workers' www-data, which reads every
 * domain's TLS key (agent/tls-files.ts), so a flaw in Roundcube reaches no key. One per machine:
 * a real node is a machine of its own; the local cluster's nodes share it.
 */
export const WEBMAIL_USER = 'fleetpanel-webmail';

export interface WebmailDriverOptions {
  phpFpmBinary?: string;
  /** The node's nginx, which checks and takes the server blocks. */
  nginx: () => NginxServerFiles | undefined;
  /** Mail domains whose mailboxes this node holds, read fresh on every refresh. */
  heldDomains: () => string[];
}

export class WebmailDriver implements DaemonDriver {
  readonly name = WEBMAIL_DAEMON;
  readonly paths: WebmailPaths;
  /** Webmail's server files among the extra server blocks the node's nginx picks up (NginxPaths.extraServersDir). */
  readonly servers: ServerFileGroup;
  private readonly desKeyFile: string;
  private readonly phpFpm: string;
  /** Only root can hand the files to Roundcube's user; an unprivileged agent runs php-fpm as itself. */
  private readonly asRoot = userInfo().uid === 0;
  private webmailUser: SystemUser | undefined;
  /** The held-domain files in place (placeHeldDomains). */
  private placedHeldDomains: Set<string> | undefined;

  constructor(
    private readonly context: DriverContext,
    private readonly options: WebmailDriverOptions,
  ) {
    const { layout } = context;
    this.paths = {
      configDir: layout.etc('webmail', 'roundcube'),
      databaseFile: layout.lib('webmail', 'db', 'roundcube.sqlite'),
      tempDir: layout.lib('webmail', 'temp'),
      logDir: layout.lib('webmail', 'logs'),
      phpFpmConfig: layout.etc('webmail', 'php-fpm.conf'),
      phpFpmPidFile: layout.run('webmail', 'php-fpm.pid'),
      phpFpmErrorLog: layout.log('webmail-php-fpm'),
      phpFpmSocket: layout.run('webmail', 'php-fpm.sock'),
      heldDomainsDir: layout.lib('webmail', 'domains'),
    };
    this.servers = { folder: layout.etc('nginx', 'servers.d'), owns: isWebmailServerFile };
    this.desKeyFile = layout.lib('webmail', 'des-key');
    this.phpFpm = options.phpFpmBinary ?? 'php-fpm8.2';
  }

  /** Roundcube's user, created when missing (as root), or the agent's own. */
  private async ensureUser(): Promise<void> {
    if (this.asRoot) this.webmailUser ??= await ensureSystemUser(WEBMAIL_USER, '/nonexistent');
  }

  private users(): { user: string; socketOwner: string } {
    return this.asRoot ? { user: WEBMAIL_USER, socketOwner: TLS_KEY_READER } : { user: userInfo().username, socketOwner: userInfo().username };
  }

  /** Folders Roundcube writes: its database, temp files and logs. */
  private ensureFolders(): void {
    mkdirSync(this.context.layout.run('webmail'), { recursive: true });
    mkdirSync(this.paths.configDir, { recursive: true });
    mkdirSync(this.context.layout.etc('nginx', 'servers.d'), { recursive: true });
    // Traversable, so Roundcube's user reaches its own folders below it.
    mkdirSync(this.context.layout.lib('webmail'), { recursive: true, mode: 0o755 });
    for (const dir of [this.context.layout.lib('webmail', 'db'), this.paths.tempDir, this.paths.logDir]) {
      mkdirSync(dir, { recursive: true, mode: 0o750 });
      if (this.webmailUser) giveTo(this.webmailUser, dir);
    }
  }

  /** Random per node and kept across restarts, so sessions survive an agent restart. */
  private desKey(): string {
    if (!existsSync(this.desKeyFile)) writeFileAtomic(this.desKeyFile, randomBytes(18).toString('base64'), 0o600);
    return readFileSync(this.desKeyFile, 'utf8').trim();
  }

  private writeConfiguration(): void {
    this.ensureFolders();
    const configFile = `${this.paths.configDir}/config.inc.php`;
    // Holds the DES key: readable by the PHP workers only.
    writeIfChanged(configFile, renderRoundcubeConfig({ address: this.context.address, paths: this.paths, desKey: this.desKey() }), 0o640);
    if (this.webmailUser) chownSync(configFile, 0, this.webmailUser.gid);
    for (const packaged of ROUNDCUBE_PACKAGED_CONFIG) {
      const link = `${this.paths.configDir}/${basename(packaged)}`;
      if (!existsSync(link)) symlinkSync(packaged, link);
    }
    writeIfChanged(this.paths.phpFpmConfig, renderPhpFpmConfig({ paths: this.paths, ...this.users() }));
  }

  async start(): Promise<void> {
    await this.ensureUser();
    this.writeConfiguration();
    if (runningPid(this.paths.phpFpmPidFile) === undefined) {
      await this.check();
      rmSync(this.paths.phpFpmSocket, { force: true });
      await launchDaemon(this.phpFpm, ['--fpm-config', this.paths.phpFpmConfig], this.paths.phpFpmErrorLog);
      await waitFor(() => runningPid(this.paths.phpFpmPidFile) !== undefined && existsSync(this.paths.phpFpmSocket), 10_000, `php-fpm of ${this.context.address} to listen`);
      this.context.log('webmail php-fpm started', { pid: runningPid(this.paths.phpFpmPidFile), address: this.context.address });
    }
    await this.refreshServers();
  }

  /** The server block goes first, so nginx stops sending requests to a socket that is going away. */
  async stop(): Promise<void> {
    await this.serve(new Map());
    await stopByPidFile(this.paths.phpFpmPidFile);
  }

  async check(): Promise<void> {
    await daemonConfigCheck('php-fpm', this.name, () => run(this.phpFpm, ['--fpm-config', this.paths.phpFpmConfig, '-t']));
  }

  /** SIGUSR2 makes the php-fpm master re-read its configuration and replace its workers gracefully. */
  async reload(): Promise<void> {
    await this.ensureUser();
    this.writeConfiguration();
    const pid = runningPid(this.paths.phpFpmPidFile);
    if (pid !== undefined) process.kill(pid, 'SIGUSR2');
  }

  async status(): Promise<DriverStatus> {
    return pidFileStatus(this.name, this.paths.phpFpmPidFile);
  }

  /** The pool accepts on its socket. */
  probes(): DaemonProbe[] {
    return [greetingProbe({ what: 'php-fpm socket', host: this.context.address, port: this.paths.phpFpmSocket })];
  }

  logFilePath(): string {
    return this.paths.phpFpmErrorLog;
  }

  /**
   * Serves webmail.<domain> for exactly the mail domains held here; at start and whenever the
   * parent has pushed a mail state here (POST /v1/webmail/refresh). The domains are files that
   * nginx looks for at each request (renderWebmailServer), so a domain that comes or goes needs
   * no reload. The server block itself changes only with the node (its address, a new version of
   * this driver): then a running nginx checks it and reloads (NginxServerFiles), and one that is
   * not running reads it when it starts.
   */
  async refreshServers(): Promise<{ changed: boolean }> {
    const domainsChanged = this.placeHeldDomains(heldDomainFiles(this.options.heldDomains()));
    const { changed } = await this.serve(new Map([[WEBMAIL_SERVER_FILE, renderWebmailServer({ address: this.context.address, paths: this.paths })]]));
    return { changed: changed || domainsChanged };
  }

  /**
   * Makes the held-domains folder hold exactly `wanted`: new files first, so no domain held before
   * and now is ever missing. The folder is listed once per agent run, then known from what this
   * wrote: a refresh follows every mail push, and listing 2,000 names each time cost more than
   * anything else webmail did for a change.
   */
  private placeHeldDomains(wanted: ReadonlySet<string>): boolean {
    const folder = this.paths.heldDomainsDir;
    // nginx's workers look into it.
    mkdirSync(folder, { recursive: true, mode: 0o755 });
    const present = (this.placedHeldDomains ??= new Set(readdirSync(folder)));
    const added = [...wanted].filter((domain) => !present.has(domain));
    const removed = [...present].filter((name) => !wanted.has(name));
    for (const domain of added) {
      writeFileAtomic(`${folder}/${domain}`, '', 0o644);
      present.add(domain);
    }
    for (const name of removed) {
      rmSync(`${folder}/${name}`, { force: true });
      present.delete(name);
    }
    return added.length > 0 || removed.length > 0;
  }

  private async serve(wanted: ReadonlyMap<string, string>): Promise<{ changed: boolean }> {
    const nginx = this.options.nginx();
    // Every node with webmail has an nginx (the webmail module brings one where the web role does not).
    if (!nginx) return { changed: false };
    if ((await nginx.status()).running) return (await nginx.prepareServerFiles(this.servers, wanted)).commit();
    return nginx.placeServerFiles(this.servers, wanted);
  }
}

/**
 * A folder and what is directly in it (Roundcube keeps no sub-folders there): the files of a
 * node whose Roundcube ran as www-data before it had a user of its own change hands too.
 */
function giveTo(user: SystemUser, folder: string): void {
  for (const path of [folder, ...readdirSync(folder).map((name) => `${folder}/${name}`)]) {
    const stat = lstatSync(path);
    if (stat.uid !== user.uid || stat.gid !== user.gid) chownSync(path, user.uid, user.gid);
  }
}
