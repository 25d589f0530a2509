/**
 * The nginx instance of one node. It runs as its own master process (`nginx -p <prefix> -c <conf>`)
 * so several nodes can share one machine; the PID file named in its config is the only handle on it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { tlsFilePaths } from '../agent/tls-files.ts';
import type { DaemonDriver, DaemonProbe, DriverContext, DriverStatus } from '../agent/driver.ts';
import { httpProbe } from '../agent/probes.ts';
import { childPids, daemonConfigCheck, isLiveChildOf, pidFileStatus, runningPid, stopByPidFile, waitFor } from '../agent/daemon-process.ts';
import { run } from '../core/exec.ts';
import { writeFileAtomic } from '../core/files.ts';
import { assertValid, checkDomain, checkUsername } from '../core/grammar.ts';
import { renderNginxConfig, type NginxPaths } from './nginx-config.ts';
import { validateWebState, type WebState } from '../protocol/web-state.ts';

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

const EMPTY_STATE: WebState = { sites: [], proxies: [] };

export class NginxDriver implements DaemonDriver {
  readonly name = 'nginx';
  readonly prefix: string;
  readonly configFile: string;
  readonly paths: NginxPaths;
  private readonly nginx: string;
  private readonly openssl: string;
  private readonly workerUser: string | undefined;

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
      certificate: layout.etc('nginx', 'tls', 'node.crt'),
      certificateKey: layout.etc('nginx', 'tls', 'node.key'),
      mimeTypes: options.mimeTypes ?? '/etc/nginx/mime.types',
      extraServersDir: layout.etc('nginx', 'servers.d'),
      fastcgiParams: '/etc/nginx/fastcgi_params',
      tlsIncludeDir: tlsFilePaths(layout).nginxDir,
    };
    this.nginx = options.nginxBinary ?? 'nginx';
    this.openssl = options.opensslBinary ?? 'openssl';
    this.workerUser = options.workerUser ?? (userInfo().uid === 0 ? 'www-data' : undefined);
  }

  /** -e names the error log used before the config is read; the packaged default is /var/log/nginx. */
  private instanceArgs(): string[] {
    return ['-p', this.prefix, '-c', this.configFile, '-e', this.paths.errorLog];
  }

  render(state: WebState): string {
    return renderNginxConfig({ address: this.context.address, paths: this.paths, workerUser: this.workerUser, state });
  }

  async start(): Promise<void> {
    const { layout } = this.context;
    layout.ensure();
    mkdirSync(layout.run('nginx'), { recursive: true });
    mkdirSync(this.paths.tempDir, { recursive: true });
    await this.ensureCertificate();
    if (!existsSync(this.configFile)) writeFileAtomic(this.configFile, this.render(EMPTY_STATE));
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

  private async checkFile(configFile: string): Promise<void> {
    await daemonConfigCheck('nginx', this.name, () => run(this.nginx, ['-t', '-q', '-p', this.prefix, '-c', configFile, '-e', this.paths.errorLog]));
  }

  /**
   * Returns once the workers of the old configuration are gone, so a caller that reports "applied"
   * is not contradicted by an old worker answering the next request. Workers busy with a long
   * download may outlive the wait; then the reload is still under way, which is logged.
   * The master gets SIGHUP straight from its PID file: `nginx -s reload` would first parse the
   * whole configuration itself only to find that PID file, and on a node with thousands of
   * sites that parse costs as much as the master's own. A master that cannot parse the new
   * configuration keeps serving the old one, so every change is checked before this is called.
   */
  async reload(): Promise<void> {
    const masterPid = runningPid(this.paths.pidFile);
    if (masterPid === undefined) return;
    const oldWorkers = childPids(masterPid);
    process.kill(masterPid, 'SIGHUP');
    try {
      await waitFor(() => oldWorkers.every((pid) => !isLiveChildOf(pid, masterPid)), 5_000, 'old nginx workers to finish');
    } catch {
      this.context.log('nginx reload: old workers still finishing requests', { pids: oldWorkers });
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
   * Makes the node serve exactly `input`. Nothing is written unless the whole state is valid, and
   * the new file is checked by nginx as a candidate beside the live one before it replaces it, so
   * the live file only ever holds a configuration nginx accepted.
   */
  async apply(input: unknown): Promise<WebApplyResult> {
    const state = validateWebState(input, this.context.layout.www());
    const rendered = this.render(state);
    if (existsSync(this.configFile) && readFileSync(this.configFile, 'utf8') === rendered) return { changed: false };
    const candidate = `${this.configFile}.candidate`;
    writeFileAtomic(candidate, rendered);
    try {
      await this.checkFile(candidate);
    } catch (error) {
      rmSync(candidate, { force: true });
      throw error;
    }
    renameSync(candidate, this.configFile);
    await this.reload();
    this.context.log('nginx configuration applied', { sites: state.sites.length, proxies: state.proxies.length });
    return { changed: true };
  }

  /** Creates www/<account>/<domain>/public_html with a placeholder page when it is new. */
  ensureDocumentRoot(account: string, domain: string): string {
    assertValid('account', account, checkUsername);
    assertValid('domain', domain, checkDomain);
    const documentRoot = this.context.layout.www(account, domain, 'public_html');
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

  /** A self-signed certificate for the node address, so :443 works before any site has its own. */
  private async ensureCertificate(): Promise<void> {
    if (existsSync(this.paths.certificate) && existsSync(this.paths.certificateKey)) return;
    mkdirSync(this.context.layout.etc('nginx', 'tls'), { recursive: true, mode: 0o700 });
    const address = this.context.address;
    await run(this.openssl, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', this.paths.certificateKey, '-out', this.paths.certificate, '-days', '3650',
      '-subj', `/CN=${address}`, '-addext', `subjectAltName=IP:${address}`,
    ]);
  }
}
