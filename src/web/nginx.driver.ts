/**
 * The nginx instance of one node. It runs as its own master process (`nginx -p <prefix> -c <conf>`)
 * so several nodes can share one machine; the PID file named in its config is the only handle on it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { TLS_KEY_READER, tlsFilePaths } from '../agent/tls-files.ts';
import type { DaemonDriver, DaemonProbe, DriverContext, DriverStatus } from '../agent/driver.ts';
import { httpProbe } from '../agent/probes.ts';
import { RELOAD_POLL_MS, childPids, commandLine, daemonConfigCheck, isAlive, isLiveChildOf, pidFileStatus, reloadableMaster, runningPid, stopByPidFile, waitFor } from '../agent/daemon-process.ts';
import { InternalError } from '../core/errors.ts';
import { run } from '../core/exec.ts';
import { readFrom, readIfExists, writeFileAtomic } from '../core/files.ts';
import { RememberedFiles } from '../core/remembered-files.ts';
import { ensureNodeCertificate } from './node-certificate.ts';
import { BatchByKey } from '../core/batch-by-key.ts';
import { assertValid, checkDomain, checkUsername } from '../core/grammar.ts';
import { isIncludedFileName, renderNginxConfig, renderServerFiles, serverFileName, type NginxPaths } from './nginx-config.ts';
import { ensureSiteAccessLogs } from './site-access-logs.ts';
import { validateWebState, validateWebStateItems } from '../protocol/web-state.ts';

export interface NginxDriverOptions {
  /** Worker user when the agent runs as root; nginx's default (nobody) cannot be relied on to exist. */
  workerUser?: string;
  nginxBinary?: string;
  opensslBinary?: string;
  mimeTypes?: string;
}

export interface WebApplyResult {
  changed: boolean;
}

/**
 * The server files one module keeps in a folder nginx includes (the sites folder, or the extra
 * servers folder that webmail shares with others): `owns` picks its files out of the folder.
 */
export interface ServerFileGroup {
  folder: string;
  owns(name: string): boolean;
}

/** What another module needs of the node's nginx to serve server files of its own. */
export interface NginxServerFiles {
  status(): Promise<DriverStatus>;
  prepareServerFiles(group: ServerFileGroup, wanted: ReadonlyMap<string, string>): Promise<PreparedWebState>;
  placeServerFiles(group: ServerFileGroup, wanted: ReadonlyMap<string, string>): WebApplyResult;
}

/** A checked candidate configuration (NginxDriver.prepare): commit() serves it, discard() drops it, revert() after commit() serves what was there before. */
export interface PreparedWebState {
  commit(): Promise<WebApplyResult>;
  discard(): void;
  revert(): Promise<void>;
}

/** How long a reloaded master may take to start the workers of the new configuration (parsing thousands of sites on a busy machine). */
const RELOAD_TAKEN_MS = 30_000;

export class NginxDriver implements DaemonDriver, NginxServerFiles {
  readonly name = 'nginx';
  readonly prefix: string;
  readonly configFile: string;
  readonly paths: NginxPaths;
  private readonly nginx: string;
  private readonly openssl: string;
  private readonly workerUser: string | undefined;
  /** The sites folder, where every file is the web state's. */
  private readonly sitesGroup: ServerFileGroup;
  /**
   * One reload at a time, and the changes that ask while one is under way share the next: each
   * wrote its files before asking, so the next reload carries them all (at 2,000 sites a reload
   * costs over a second, and the web state and webmail ask for one each per account).
   */
  private readonly reloads = new BatchByKey<undefined, void>(() => this.reloadNow());
  /** Candidates prepared so far, naming each change's candidate files. */
  private candidates = 0;
  /** What this driver last put live in each server file: a push of a node's whole state compares with it instead of reading thousands of files. */
  private readonly written = new RememberedFiles();

  constructor(
    private readonly context: DriverContext,
    options: NginxDriverOptions = {},
  ) {
    const { layout } = context;
    this.prefix = `${layout.etc('nginx')}/`;
    this.configFile = layout.etc('nginx', 'nginx.conf');
    this.paths = {
      pidFile: layout.run('nginx', 'nginx.pid'),
      errorLog: layout.log('nginx-error'),
      accessLog: layout.log('nginx-access'),
      tempDir: layout.lib('nginx', 'tmp'),
      certificate: layout.etc('nginx', 'tls', 'node.pem'),
      mimeTypes: options.mimeTypes ?? '/etc/nginx/mime.types',
      extraServersDir: layout.etc('nginx', 'servers.d'),
      fastcgiParams: '/etc/nginx/fastcgi_params',
      tlsIncludeDir: tlsFilePaths(layout).nginxDir,
      sitesDir: layout.etc('nginx', 'sites.d'),
      homesDir: layout.www(),
      phpSocketsDir: layout.run('php'),
    };
    this.sitesGroup = { folder: this.paths.sitesDir, owns: () => true };
    this.nginx = options.nginxBinary ?? 'nginx';
    this.openssl = options.opensslBinary ?? 'openssl';
    this.workerUser = options.workerUser ?? (userInfo().uid === 0 ? TLS_KEY_READER : undefined);
  }

  /** -e names the error log used before the config is read; the packaged default is /var/log/nginx. */
  private instanceArgs(): string[] {
    return ['-p', this.prefix, '-c', this.configFile, '-e', this.paths.errorLog];
  }

  private configInput(): { address: string; paths: NginxPaths; workerUser?: string } {
    return { address: this.context.address, paths: this.paths, ...(this.workerUser !== undefined ? { workerUser: this.workerUser } : {}) };
  }

  renderMain(): string {
    return renderNginxConfig(this.configInput());
  }

  /** nginx.conf followed by every server file it includes, in nginx's order: what the instance serves once reloaded. */
  liveConfiguration(): string {
    const main = readIfExists(this.configFile) ?? '';
    return [main, ...serverFilesIn(this.paths.sitesDir).map((name) => readFileSync(join(this.paths.sitesDir, name), 'utf8'))].join('');
  }

  async start(): Promise<void> {
    const { layout } = this.context;
    layout.ensure();
    mkdirSync(layout.run('nginx'), { recursive: true });
    mkdirSync(this.paths.tempDir, { recursive: true });
    await ensureNodeCertificate({ file: this.paths.certificate, address: this.context.address, openssl: this.openssl, ...(this.workerUser !== undefined ? { workerUser: this.workerUser } : {}) });
    if (!existsSync(this.configFile)) writeFileAtomic(this.configFile, this.renderMain());
    if (runningPid(this.paths.pidFile) !== undefined) return;
    await this.check();
    // nginx forks its master and exits; the master writes the PID file once it listens.
    await run(this.nginx, this.instanceArgs());
    await waitFor(() => runningPid(this.paths.pidFile) !== undefined, 10_000, `nginx of ${this.context.address} to write its PID file`);
    this.context.log('nginx started', { pid: runningPid(this.paths.pidFile), address: this.context.address });
  }

  async stop(): Promise<void> {
    await stopByPidFile(this.paths.pidFile);
  }

  async check(): Promise<void> {
    await this.checkFile(this.configFile);
  }

  /**
   * Its complaints go to stderr alone: in the instance's error log, a check refusing one module's
   * candidate would read as the master refusing the reload under way for another module.
   */
  private async checkFile(configFile: string): Promise<void> {
    await daemonConfigCheck('nginx', this.name, () => run(this.nginx, ['-t', '-q', '-p', this.prefix, '-c', configFile, '-e', 'stderr']));
  }

  /**
   * Returns once the workers of the new configuration run and those of the old one take no new
   * connection (gone, or shutting down: see takesNoConnection), so a caller that reports
   * "applied" is not contradicted by an old worker answering the next request; one that does not
   * get there within the wait is logged. Throws when the master did not take the configuration:
   * gone, stopped, or refusing it at reload (what `nginx -t` cannot see, such as an address it
   * cannot bind), which it shows only by starting no new worker.
   * The master gets SIGHUP straight from its PID file: `nginx -s reload` would first parse the
   * whole configuration itself only to find that PID file, and on a node with thousands of
   * sites that parse costs as much as the master's own. A master that cannot parse the new
   * configuration keeps serving the old one, so every change is checked before this is called.
   */
  reload(): Promise<void> {
    // Never two at once (the web state and the webmail block both reload this nginx): two signals
    // close together are one reconfiguration for the master, and the second caller would take the
    // workers started for the first as proof that its own file was read.
    return this.reloads.run('master', undefined);
  }

  private async reloadNow(): Promise<void> {
    const masterPid = reloadableMaster('nginx', this.paths.pidFile);
    const oldWorkers = childPids(masterPid);
    const logFrom = existsSync(this.paths.errorLog) ? statSync(this.paths.errorLog).size : 0;
    process.kill(masterPid, 'SIGHUP');
    const started = () => childPids(masterPid).some((pid) => !oldWorkers.includes(pid));
    // A master that gives up on the new configuration says why in its error log, as [emerg]; a
    // bind() it retries (five times, half a second apart) is given up at "still could not bind()".
    // Answering before that would let the next reload read the rest of this one's lines.
    let refusal: string | undefined;
    const refused = () => {
      const emergencies = readFrom(this.paths.errorLog, logFrom).match(/^.*\[emerg\].*$/gm) ?? [];
      if (!emergencies.some((line) => /still could not bind\(\)/.test(line) || !/bind\(\) to .* failed/.test(line))) return false;
      refusal = emergencies[0];
      return true;
    };
    try {
      await waitFor(() => started() || refused() || !isAlive(masterPid), RELOAD_TAKEN_MS, 'the workers of the new nginx configuration', RELOAD_POLL_MS);
    } catch {
      throw new ReloadTimedOut(`nginx did not reload: its master started no worker of the new configuration within ${RELOAD_TAKEN_MS / 1000} s (see ${this.paths.errorLog})`, { daemon: this.name });
    }
    if (!isAlive(masterPid)) throw new InternalError(`nginx did not reload: its master process ${masterPid} exited`, { daemon: this.name });
    if (!started() && refusal !== undefined) throw new InternalError(`nginx did not reload: ${refusal}`, { daemon: this.name });
    this.context.log('nginx reloaded', { master: masterPid });
    try {
      await waitFor(() => oldWorkers.every((pid) => takesNoConnection(pid, masterPid)), 5_000, 'old nginx workers to stop taking connections', RELOAD_POLL_MS);
    } catch {
      this.context.log('nginx reload: old workers still taking connections', { pids: oldWorkers });
    }
  }

  /** A certificate is loaded by the master at reload, so the check comes first: a broken key never replaces a working one. */
  async reloadCertificates(): Promise<void> {
    if (runningPid(this.paths.pidFile) === undefined) return;
    await this.check();
    await this.reload();
  }

  async status(): Promise<DriverStatus> {
    return pidFileStatus(this.name, this.paths.pidFile);
  }

  probes(): DaemonProbe[] {
    return [httpProbe({ what: 'http answer', host: this.context.address, port: 80 })];
  }

  logFilePath(): string {
    return this.paths.errorLog;
  }

  /**
   * Makes the node serve exactly `input`. Nothing is written unless the whole state is valid;
   * then the sites folder is brought to the state's files (prepareServerFiles): a change to one
   * site writes one small file and checks that file.
   */
  async apply(input: unknown): Promise<WebApplyResult> {
    return (await this.prepare(input)).commit();
  }

  /**
   * apply up to its check: the candidates are written and checked, nothing live has changed.
   * commit() then puts them live and reloads (apply's second half); discard() drops them. So the
   * check can run while something else gets ready (the PHP pools the new sites will use).
   */
  async prepare(input: unknown): Promise<PreparedWebState> {
    const state = validateWebState(input, this.context.layout.www());
    ensureSiteAccessLogs(state.sites, this.paths, this.workerUser);
    return this.prepareServerFiles(this.sitesGroup, renderServerFiles({ ...this.configInput(), state }));
  }

  /**
   * prepare for a change to the state this node serves: only the server files of the sites and
   * proxies it puts or removes are rendered, compared and checked. The caller checked the host
   * names of the whole state (AppliedWebState).
   */
  async prepareChange(put: unknown, removed: { sites: readonly string[]; proxies: readonly string[] }): Promise<PreparedWebState> {
    const state = validateWebStateItems(put, this.context.layout.www());
    ensureSiteAccessLogs(state.sites, this.paths, this.workerUser);
    const files = new Map<string, string | undefined>();
    // Removals first: a domain removed and put again in one change is put, and a site put drops its
    // file of the other kind (a server block of its own, or entries in the shared server's map).
    const sites = [...removed.sites.map((site) => assertValid('removedSites', site, checkDomain)), ...state.sites.map((site) => site.domain)];
    for (const name of sites.flatMap((domain) => [serverFileName('site', domain), serverFileName('shared-site', domain)])) files.set(name, undefined);
    for (const domain of removed.proxies) files.set(serverFileName('proxy', assertValid('removedProxies', domain, checkDomain)), undefined);
    for (const [name, contents] of renderServerFiles({ ...this.configInput(), state })) files.set(name, contents);
    return this.prepareServerFileChanges(this.sitesGroup, files);
  }

  /**
   * Makes the files that `group` owns in its folder exactly `wanted` (by file name), the way
   * every server file of this nginx changes: only the files whose contents differ are written,
   * first as candidates beside the live ones, and nginx checks a candidate nginx.conf that names
   * the changed ones before any of them replaces a live file; commit() puts them live and
   * reloads, and when the reload fails every file goes back as it was and the change fails. So
   * the live files only ever hold a configuration nginx accepted and took (or is taking now).
   * nginx.conf itself is rewritten here too when it changed (a new version of this driver), and
   * then every server file is checked with it.
   */
  async prepareServerFiles(group: ServerFileGroup, wanted: ReadonlyMap<string, string>): Promise<PreparedWebState> {
    const { changed, stale } = this.differences(group, wanted);
    return this.prepareFiles(group, new Map(changed.map((name) => [name, wanted.get(name)!])), stale);
  }

  /**
   * prepareServerFiles for the named files alone (contents, or undefined for a file to remove):
   * the other files of the group stay as they are, unread.
   */
  async prepareServerFileChanges(group: ServerFileGroup, files: ReadonlyMap<string, string | undefined>): Promise<PreparedWebState> {
    mkdirSync(group.folder, { recursive: true });
    const changed = new Map<string, string>();
    const stale: string[] = [];
    for (const name of [...files.keys()].sort()) {
      const contents = files.get(name);
      const path = join(group.folder, name);
      if (contents === undefined) {
        if (existsSync(path)) stale.push(name);
      } else if (this.written.contents(path) !== contents) changed.set(name, contents);
    }
    return this.prepareFiles(group, changed, stale);
  }

  /** Writes `changed` as candidates and checks them; commit() puts them live, removes `stale` and reloads. */
  private async prepareFiles(group: ServerFileGroup, wanted: ReadonlyMap<string, string>, stale: readonly string[]): Promise<PreparedWebState> {
    const { folder } = group;
    const changed = [...wanted.keys()];
    const main = this.renderMain();
    const mainChanged = readIfExists(this.configFile) !== main;
    if (changed.length === 0 && stale.length === 0 && !mainChanged) return { commit: () => Promise.resolve({ changed: false }), discard: () => undefined, revert: () => Promise.resolve() };

    const previous = new Map<string, string | undefined>();
    for (const name of [...changed, ...stale]) previous.set(join(folder, name), readIfExists(join(folder, name)));
    if (mainChanged) previous.set(this.configFile, readIfExists(this.configFile));
    // Named for this change alone: the web state and webmail prepare theirs side by side.
    const tag = `${process.pid}-${++this.candidates}`;
    const candidateOf = (name: string): string => join(folder, `${name}.${tag}.candidate`);
    const candidateMain = `${this.configFile}.${tag}.candidate`;
    const discard = (): void => {
      for (const name of changed) rmSync(candidateOf(name), { force: true });
      rmSync(candidateMain, { force: true });
    };
    try {
      for (const name of changed) writeFileAtomic(candidateOf(name), wanted.get(name)!);
      // nginx parses every server of a configuration it is given (2,000 sites and their 2,000
      // webmail hosts: about 1 s of CPU on an idle machine, several times that on a busy one),
      // and the master parses them all again at the reload. So the candidate holds the changed
      // files alone, unless nginx.conf itself changed: what a changed file can get wrong by itself
      // is refused here, before anything live moves; what it could only get wrong beside the
      // others (a listen option that contradicts another server's) the master refuses at the
      // reload, keeping the old configuration, and commit() puts every file back.
      if (mainChanged) {
        // Every server file as it will be: the others' files, the group's unchanged ones, the candidates.
        const leaving = new Set([...changed, ...stale]);
        const othersIn = (dir: string): string[] => serverFilesIn(dir).filter((name) => dir !== folder || !leaving.has(name)).map((name) => join(dir, name));
        const includes = [...new Set([this.paths.sitesDir, this.paths.extraServersDir, folder])].flatMap(othersIn);
        includes.push(...changed.map(candidateOf));
        writeFileAtomic(candidateMain, renderNginxConfig(this.configInput(), includes, false));
        await this.checkFile(candidateMain);
      } else if (changed.length > 0) {
        writeFileAtomic(candidateMain, renderNginxConfig(this.configInput(), changed.map(candidateOf), false));
        await this.checkFile(candidateMain);
      }
    } catch (error) {
      discard();
      throw error;
    }
    const commit = async (): Promise<WebApplyResult> => {
      for (const name of changed) renameSync(candidateOf(name), join(folder, name));
      for (const name of stale) rmSync(join(folder, name), { force: true });
      if (mainChanged) writeFileAtomic(this.configFile, main);
      rmSync(candidateMain, { force: true });
      try {
        await this.reload();
      } catch (error) {
        for (const path of previous.keys()) this.written.forget(path);
        this.restore(previous, error instanceof ReloadTimedOut);
        throw error;
      }
      for (const name of changed) this.written.remember(join(folder, name), wanted.get(name)!);
      for (const name of stale) this.written.forget(join(folder, name));
      this.context.log('nginx server files applied', { folder, filesWritten: changed.length, filesRemoved: stale.length });
      return { changed: true };
    };
    const revert = async (): Promise<void> => {
      for (const path of previous.keys()) this.written.forget(path);
      this.restore(previous, false);
      const reloaded = await this.reload().then(() => true, (error: unknown) => this.context.log('nginx did not reload reverted server files', { folder, error: String(error) }));
      if (reloaded) this.context.log('nginx server files reverted', { folder, files: previous.size });
    };
    return { commit, discard, revert };
  }

  /**
   * While nginx is not running (before its first start, or stopped): makes the files `group` owns
   * in its folder exactly `wanted` with no check, since nothing reads them yet; start() checks the
   * whole configuration before nginx takes any of them.
   */
  placeServerFiles(group: ServerFileGroup, wanted: ReadonlyMap<string, string>): WebApplyResult {
    const { changed, stale } = this.differences(group, wanted);
    for (const name of stale) {
      rmSync(join(group.folder, name), { force: true });
      this.written.forget(join(group.folder, name));
    }
    for (const name of changed) {
      writeFileAtomic(join(group.folder, name), wanted.get(name)!);
      this.written.remember(join(group.folder, name), wanted.get(name)!);
    }
    return { changed: changed.length > 0 || stale.length > 0 };
  }

  /** The files of `group` whose contents are not the wanted ones (by name), and the ones it owns but no longer wants. */
  private differences(group: ServerFileGroup, wanted: ReadonlyMap<string, string>): { changed: string[]; stale: string[] } {
    mkdirSync(group.folder, { recursive: true });
    const changed = [...wanted.keys()].sort().filter((name) => this.written.contents(join(group.folder, name)) !== wanted.get(name));
    const stale = serverFilesIn(group.folder).filter((name) => group.owns(name) && !wanted.has(name));
    return { changed, stale };
  }

  /**
   * After a reload that failed: the live files go back to the configuration in force before
   * (`previous`: each file's contents, or none where it did not exist), so nothing reads the
   * refused one later (a master continued after a stop, a restart by the watchdog). A master that
   * may still take the new one (its wait ran out) is sent the old one again.
   */
  private restore(previous: ReadonlyMap<string, string | undefined>, mayStillTake: boolean): void {
    for (const [path, contents] of previous) {
      if (contents === undefined) rmSync(path, { force: true });
      else writeFileAtomic(path, contents);
    }
    if (!mayStillTake) return;
    try {
      process.kill(reloadableMaster('nginx', this.paths.pidFile), 'SIGHUP');
    } catch {
      /* gone or stopped: it reads the restored files when it runs again */
    }
  }

  /** www/<account>/<domain>/public_html, the names checked first. */
  documentRootOf(account: string, domain: string): string {
    return this.context.layout.www(assertValid('account', account, checkUsername), assertValid('domain', domain, checkDomain), 'public_html');
  }

  /** Creates www/<account>/<domain>/public_html with a placeholder page when it is new. */
  ensureDocumentRoot(account: string, domain: string): string {
    const documentRoot = this.documentRootOf(account, domain);
    // Only a new site gets the placeholder: an application may have replaced it with its own index.
    const fresh = !existsSync(documentRoot);
    mkdirSync(documentRoot, { recursive: true, mode: 0o755 });
    const index = `${documentRoot}/index.html`;
    if (fresh && !existsSync(index)) {
      writeFileSync(index, `<!doctype html><html><head><title>${domain}</title></head><body><h1>${domain}</h1><p>This site is hosted here.</p></body></html>\n`, {
        mode: 0o644,
      });
    }
    return documentRoot;
  }
}

/** A master that neither took the new configuration nor said it refused it within the wait: it may still be reading it. */
class ReloadTimedOut extends InternalError {}

/**
 * nginx titles a worker "shutting down" and closes its listening sockets in one step; exiting
 * after that (freeing a configuration of 2,000 sites) took another 75 ms here.
 */
function takesNoConnection(pid: number, masterPid: number): boolean {
  return !isLiveChildOf(pid, masterPid) || (commandLine(pid) ?? '').includes('worker process is shutting down');
}

/** The server files in a folder now, by name (leftover candidates and temp files are not among them). */
function serverFilesIn(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder).filter(isIncludedFileName).sort();
}
