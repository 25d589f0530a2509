/**
 * The Dovecot instance of one node (IMAP, POP3, LMTP and the doveadm TCP server), run as its own
 * master with `dovecot -c`; the master.pid in its base_dir is the only handle on it.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DaemonDriver, DaemonProbe, DriverContext, DriverStatus } from '../agent/driver.ts';
import { greetingProbe } from '../agent/probes.ts';
import { daemonConfigCheck, killInstance, pidFileStatus, reloadableMaster, runningPid, stopByPidFile, waitFor } from '../agent/daemon-process.ts';
import { CommandError, run } from '../core/exec.ts';
import { InternalError, NotFoundError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/files.ts';
import { DOVEADM_PORT, mailboxHome, renderDovecotFiles } from './dovecot-config.ts';
import { launchDaemon } from '../core/daemon-launch.ts';
import { ensureMailCertificate } from './mail-certificate.ts';
import { mailPaths, passdbFileOf, userdbFileOf, type DovecotPaths } from './mail-paths.ts';
import { EMPTY_MAIL_STATE, type MailboxDigest, type MailState } from '../protocol/mail-state.ts';
import { lookupMailSystemIds, type MailSystemIds } from './mail-system.ts';
import { writeRenderedFiles, type RenderedFiles } from './rendered-files.ts';

const PACKAGED_DH_PARAMETERS = '/usr/share/dovecot/dh.pem';
/** doveadm sync's "run me again" exit codes: 2 (some changes not synced) and EX_TEMPFAIL. */
/** EX_NOHOST as doveadm kick uses it: nobody was connected, which is what kick is for. */
const DOVEADM_EXIT_NO_USERS_KICKED = 68;
/** EX_NOUSER: the userdb does not know the mailbox. */
const DOVEADM_EXIT_NO_SUCH_USER = 67;
const SYNC_RETRY_EXIT_CODES = new Set([2, 75]);


export class DovecotDriver implements DaemonDriver {
  readonly name = 'dovecot';
  readonly paths: DovecotPaths;
  private systemIds: MailSystemIds | undefined;

  constructor(
    private readonly context: DriverContext,
    private readonly hostname: string,
  ) {
    this.paths = mailPaths(context.layout).dovecot;
  }

  private async ids(): Promise<MailSystemIds> {
    this.systemIds ??= await lookupMailSystemIds();
    return this.systemIds;
  }

  async render(state: MailState): Promise<RenderedFiles> {
    const ids = await this.ids();
    const files = renderDovecotFiles({
      state,
      paths: this.paths,
      address: this.context.address,
      hostname: this.hostname,
      vmail: { uid: ids.vmailUid, gid: ids.vmailGid },
      ...(existsSync(PACKAGED_DH_PARAMETERS) ? { dhFile: PACKAGED_DH_PARAMETERS } : {}),
    });
    // The passwd-files are 0644 inside the 0750 root:dovecot auth folder, so atomic renames
    // never leave a window in which Dovecot's auth process cannot read them.
    return {
      files: [
        { path: this.paths.configFile, contents: files.config, mode: 0o644 },
        ...[...files.passdb].map(([domain, contents]) => ({ path: passdbFileOf(this.paths, domain), contents, mode: 0o644 })),
        ...[...files.userdb].map(([domain, contents]) => ({ path: userdbFileOf(this.paths, domain), contents, mode: 0o644 })),
        { path: this.paths.proxyDomainsFile, contents: files.proxyDomains, mode: 0o644 },
      ],
      ownedDirs: [this.paths.passdbDir, this.paths.userdbDir],
    };
  }

  /** Folders, certificate and doveadm password; idempotent. */
  async prepare(): Promise<void> {
    const { layout, address } = this.context;
    const ids = await this.ids();
    layout.ensure();
    for (const dir of [this.paths.configDir, this.paths.baseDir, this.paths.stateDir]) mkdirSync(dir, { recursive: true, mode: 0o755 });
    mkdirSync(this.paths.authDir, { recursive: true });
    chownSync(this.paths.authDir, 0, ids.dovecotGid);
    chmodSync(this.paths.authDir, 0o750);
    // Inside the 0750 auth folder, so these may be searchable by all; the files in them are 0644 for the same reason.
    for (const dir of [this.paths.passdbDir, this.paths.userdbDir]) mkdirSync(dir, { recursive: true, mode: 0o755 });
    // The single passwd-files of earlier versions; Dovecot reads the per-domain folders now.
    for (const old of ['passdb', 'userdb']) rmSync(join(this.paths.authDir, old), { force: true });
    mkdirSync(this.paths.mailRoot, { recursive: true });
    chownSync(this.paths.mailRoot, ids.vmailUid, ids.vmailGid);
    chmodSync(this.paths.mailRoot, 0o750);
    assertTraversable(this.paths.mailRoot, ids.vmailUid);
    await ensureMailCertificate(this.paths.certificate, this.paths.certificateKey, address, this.hostname);
    if (!existsSync(this.paths.doveadmPasswordFile)) {
      // No trailing newline: Dovecot takes the whole file as the value of doveadm_password.
      writeFileAtomic(this.paths.doveadmPasswordFile, randomBytes(24).toString('base64url'), 0o600);
    }
  }

  async start(): Promise<void> {
    await this.prepare();
    if (!existsSync(this.paths.configFile)) writeRenderedFiles(await this.render(EMPTY_MAIL_STATE));
    if (runningPid(this.paths.pidFile) !== undefined) return;
    await this.check();
    // dovecot forks its master and returns; the master writes master.pid once its listeners are up.
    await launchDaemon('dovecot', ['-c', this.paths.configFile], this.paths.logFile);
    await waitFor(() => runningPid(this.paths.pidFile) !== undefined, 10_000, `dovecot of ${this.context.address} to write its PID file`);
    this.context.log('dovecot started', { pid: runningPid(this.paths.pidFile), address: this.context.address });
  }

  /** The master leaves its sessions running when it stops (shutdown_clients, dovecot-config.ts): they go with its process group. */
  async stop(): Promise<void> {
    const master = runningPid(this.paths.pidFile);
    await stopByPidFile(this.paths.pidFile);
    await killInstance(master);
  }

  async check(): Promise<void> {
    // -x reads the `<file` values too: without it a missing certificate or password file
    // passes the check and only fails at the reload.
    await daemonConfigCheck('dovecot', this.name, () => run('doveconf', ['-c', this.paths.configFile, '-n', '-x']));
  }

  /**
   * Whether Dovecot must reload to serve these changed files. Only the configuration needs it:
   * the passdb and userdb passwd-files (per domain, and the proxied domains) are looked at by the
   * auth process at each lookup. A reload starts every service anew (the sessions under way end
   * on the old processes, see shutdown_clients in dovecot-config.ts), so it is kept for what
   * needs it.
   */
  needsReload(changed: readonly string[]): boolean {
    return changed.includes(this.paths.configFile);
  }

  /**
   * For a change that wrote only passwd-files: throws when the master could not serve it (gone or
   * stopped), as a reload would, then waits for the next second. The auth process looks at a
   * passwd-file at most once per second of its event loop's clock, so a lookup in the second of
   * the write may still answer from the old file; from the next second on, every lookup sees the
   * new one (its mtime always differs, see writeRenderedFiles).
   */
  async awaitDataFiles(): Promise<void> {
    reloadableMaster('dovecot', this.paths.pidFile);
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
  }

  /** Throws when the master cannot take it (gone, stopped, or `doveadm reload` refusing), so no change is acknowledged unserved. */
  async reload(): Promise<void> {
    reloadableMaster('dovecot', this.paths.pidFile);
    await this.doveadm(['reload']);
  }

  /** Dovecot reads every certificate at reload; the check first keeps a broken one from replacing a working one. */
  async reloadCertificates(): Promise<void> {
    if (runningPid(this.paths.pidFile) === undefined) return;
    await this.check();
    await this.reload();
  }

  async status(): Promise<DriverStatus> {
    return pidFileStatus(this.name, this.paths.pidFile);
  }

  /** A login process answering on each protocol: with its master stopped, Dovecot spawns none and the greeting never comes. */
  probes(): DaemonProbe[] {
    const host = this.context.address;
    return [
      greetingProbe({ what: 'imap greeting', host, port: 143, expect: /^\* OK/, bye: 'a LOGOUT\r\n' }),
      greetingProbe({ what: 'pop3 greeting', host, port: 110, expect: /^\+OK/, bye: 'QUIT\r\n' }),
    ];
  }

  logFilePath(): string {
    return this.paths.logFile;
  }

  doveadmPassword(): string {
    return readFileSync(this.paths.doveadmPasswordFile, 'utf8');
  }

  /** Ends the IMAP/POP3 sessions of these mailboxes (and proxied sessions through this node). */
  async kick(addresses: string[]): Promise<void> {
    if (runningPid(this.paths.pidFile) === undefined) return;
    // doveadm 2.3 takes one user mask per call.
    for (const address of addresses) {
      try {
        await this.doveadm(['kick', address]);
      } catch (error) {
        if (!(error instanceof CommandError) || error.exitCode !== DOVEADM_EXIT_NO_USERS_KICKED) throw error;
      }
    }
  }

  async mailboxDigest(address: string): Promise<MailboxDigest> {
    // Without a mailbox in the query, fetch searches every folder of the user.
    let stdout: string;
    try {
      ({ stdout } = await this.doveadm(['-f', 'tab', 'fetch', '-u', address, 'guid', 'ALL']));
    } catch (error) {
      if (error instanceof CommandError && error.exitCode === DOVEADM_EXIT_NO_SUCH_USER) throw new NotFoundError('mailbox', address);
      throw error;
    }
    const guids = stdout
      .split('\n')
      .slice(1)
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .sort();
    return { messages: guids.length, guids };
  }

  /**
   * Copies every folder and message of one mailbox to the Dovecot of another node, through that
   * node's doveadm TCP server. `doveadm sync -1` (one-way) is used: on 2.3 it leaves the source
   * untouched and merges into the target without deleting anything there, so mail the target
   * received after the domain was rerouted survives. Two-way `sync` would also keep it but
   * writes the target's changes back into the source; `backup` would delete it.
   * `-f` (full sync) is needed too: the default fast sync skips a folder whose UIDVALIDITY,
   * UIDNEXT and message count are equal on both sides, which is exactly what a source with one
   * late message and a target with one new message look like (seen in the daemon test).
   * `full: false` is for right after a bulk copy (mailbox-archive.ts), when both sides are the
   * same mailbox and only folders that changed since need a look; the move's verify step still
   * compares every GUID and runs a full sync when one is missing.
   */
  async syncMailboxTo(address: string, targetAddress: string, targetDoveadmPassword: string, options: { full?: boolean } = {}): Promise<void> {
    // The target's password goes into a private config that includes ours, not onto the
    // command line where every local user could read it in the process list.
    const overlay = join(this.paths.configDir, `.sync-${randomBytes(6).toString('hex')}.conf`);
    writeFileAtomic(overlay, `!include ${this.paths.configFile}\ndoveadm_password = ${targetDoveadmPassword}\n`, 0o600);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const full = options.full === false ? [] : ['-f'];
          await run('doveadm', ['-c', overlay, '-o', 'doveadm_port=0', 'sync', '-u', address, '-1', ...full, `tcp:${targetAddress}:${DOVEADM_PORT}`], { timeoutMs: 30 * 60_000 });
          return;
        } catch (error) {
          if (!(error instanceof CommandError) || !SYNC_RETRY_EXIT_CODES.has(error.exitCode ?? -1) || attempt >= 3) throw error;
        }
      }
    } finally {
      rmSync(overlay, { force: true });
    }
  }

  removeMailbox(address: string): void {
    rmSync(mailboxHome(this.paths, address), { recursive: true, force: true });
  }

  /**
   * doveadm_port=0 keeps every command on this instance: with a doveadm port configured, Dovecot
   * would forward commands for a proxied domain to the proxy's host with our doveadm password,
   * which that host refuses, and the copy here could not be read, synced or removed.
   */
  private doveadm(args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('doveadm', ['-c', this.paths.configFile, '-o', 'doveadm_port=0', ...args]);
  }
}

/**
 * Dovecot opens Maildirs as fleetvmail by absolute path, so every folder above the mail root
 * must let it pass; a mkdtemp root (0700) would fail only at the first delivery, with a
 * confusing log line, so it is refused here instead.
 */
function assertTraversable(path: string, uid: number): void {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const stat = statSync(dir);
    const passable = stat.uid === uid ? (stat.mode & 0o100) !== 0 : (stat.mode & 0o001) !== 0;
    if (!passable) throw new InternalError(`${dir} must be searchable by the mail user (chmod o+x) so Dovecot can reach ${path}`);
    if (dir === dirname(dir)) return;
  }
}
