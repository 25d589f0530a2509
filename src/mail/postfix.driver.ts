/**
 * The Postfix instance of one node, run with its own config directory (`postfix -c <dir>`),
 * queue, data directory and log file; the master.pid in its queue is the only handle on it.
 */
import { chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DaemonDriver, DaemonProbe, DriverContext, DriverStatus } from '../agent/driver.ts';
import { greetingProbe } from '../agent/probes.ts';
import { childPids, daemonConfigCheck, isLiveChildOf, pidFileStatus, reloadableMaster, runningPid, stopByPidFile, waitFor } from '../agent/daemon-process.ts';
import { CommandError, run } from '../core/exec.ts';
import { writeFileAtomic } from '../core/files.ts';
import { launchDaemon } from '../core/daemon-launch.ts';
import { ensureMailCertificate } from './mail-certificate.ts';
import { mailPaths, type DovecotPaths, type PostfixPaths } from './mail-paths.ts';
import { EMPTY_MAIL_STATE, type MailState } from '../protocol/mail-state.ts';
import { MAIL_USER } from './mail-system.ts';
import { renderPostfixFiles } from './postfix-config.ts';
import { writeRenderedFiles, type RenderedFiles } from './rendered-files.ts';

/** How long releaseHeld waits for the SMTP sessions begun under the old configuration to end. */
const RECEIVERS_GONE_MS = 20_000;

export class PostfixDriver implements DaemonDriver {
  readonly name = 'postfix';
  readonly paths: PostfixPaths;
  private readonly tls: Pick<DovecotPaths, 'certificate' | 'certificateKey'>;
  /**
   * Each lookup table's entries as this driver last put its .db live (buildMaps' commit()). A
   * change compares with them to see whether it removes entries; a table not known yet (the first
   * change after a start) is read from its .db with `postmap -s`, which on a node of 2,000
   * domains dumped and parsed every table a change touched, one more program each time.
   */
  private readonly liveEntries = new Map<string, Map<string, string>>();

  constructor(
    private readonly context: DriverContext,
    private readonly hostname: string,
  ) {
    const paths = mailPaths(context.layout);
    this.paths = paths.postfix;
    this.tls = paths.dovecot;
  }

  render(state: MailState): RenderedFiles {
    const files = renderPostfixFiles({
      state,
      paths: this.paths,
      address: this.context.address,
      hostname: this.hostname,
      vmailUser: MAIL_USER,
      certificate: this.tls.certificate,
      certificateKey: this.tls.certificateKey,
    });
    const p = this.paths;
    const rendered = [
      { path: p.mainCf, contents: files.mainCf, mode: 0o644 },
      { path: p.masterCf, contents: files.masterCf, mode: 0o644 },
      { path: p.virtualDomains, contents: files.virtualDomains, mode: 0o644 },
      { path: p.virtualMailboxes, contents: files.virtualMailboxes, mode: 0o644 },
      { path: p.virtualAliases, contents: files.virtualAliases, mode: 0o644 },
      { path: p.relayDomains, contents: files.relayDomains, mode: 0o644 },
      { path: p.transport, contents: files.transport, mode: 0o644 },
      { path: p.internalRecipients, contents: files.internalRecipients, mode: 0o644 },
    ];
    return { files: rendered, ownedDirs: [] };
  }

  /**
   * The lookup tables rendered here, each a hash: map main.cf names (the sysdata and SNI maps are
   * others'), in the order of commit()'s first round, which only adds entries (or changes a route):
   * a HOLD before anything that would deliver without it, a mailbox before the domain that makes
   * Postfix check its mailboxes, the route (the transport table names every domain, see
   * renderTransport) and a relay before the local class is taken away.
   */
  lookupTables(): string[] {
    const p = this.paths;
    return [p.internalRecipients, p.virtualMailboxes, p.virtualAliases, p.transport, p.relayDomains, p.virtualDomains];
  }

  /** commit()'s second round, which only removes entries: a domain's class before its mailboxes, the route last. */
  private removalOrder(): string[] {
    const p = this.paths;
    return [p.internalRecipients, p.relayDomains, p.virtualDomains, p.virtualMailboxes, p.virtualAliases, p.transport];
  }

  /**
   * Builds the .db of each map whose source is among `changedPaths`, or whose .db is missing or
   * older than its source (a crash between the two, a first start), beside the live one: postmap
   * of a copy named `<map>.candidate`, and of `<map>.union` (the live entries and the new ones)
   * when the change removes entries. Nothing live changes until commit(). discard() leaves the
   * live tables as they were.
   *
   * Why two rounds: the tables are replaced one rename at a time, and a Postfix process that opens
   * them between two renames (trivial-rewrite, smtpd, cleanup restart when a table changed) must
   * not see a domain that moves from local delivery to a relay (or back) in neither class, or
   * mailboxes gone while their domain is still local: its mail would bounce ("User unknown",
   * "Host or domain name not found"). So every table first gains what it gains, in
   * lookupTables() order, then loses what it loses, in removalOrder(); every state in between
   * delivers each domain to its old or its new destination (test/mail/route-commit.test.ts).
   *
   * This build is also the tables' check: postmap reads the source with Postfix's own parser and
   * warns about every line it would ignore or drop (no `key whitespace value`, a duplicate key),
   * and such a warning refuses the change as a rejected configuration.
   */
  async buildMaps(changedPaths: readonly string[]): Promise<BuiltMaps> {
    const changed = new Set(changedPaths);
    const toBuild = this.lookupTables().filter((map) => existsSync(map) && (changed.has(map) || !mapIsBuilt(map)));
    const withRemovals = new Set<string>();
    /** Each table's entries as its candidate holds them. */
    const candidates = new Map<string, Map<string, string>>();
    const discard = (): void => {
      for (const map of toBuild) for (const file of [`${map}.candidate`, `${map}.candidate.db`, `${map}.union`, `${map}.union.db`]) rmSync(file, { force: true });
    };
    const postmap = (file: string) =>
      daemonConfigCheck('postfix', this.name, async () => {
        const argv = ['-c', this.paths.configDir, `hash:${file}`];
        const { stderr } = await run('postmap', argv);
        if (/warning|fatal|error/i.test(stderr)) throw new CommandError(['postmap', ...argv], 1, '', stderr);
      });
    try {
      await Promise.all(
        toBuild.map(async (map) => {
          copyFileSync(map, `${map}.candidate`);
          await postmap(`${map}.candidate`);
          const next = tableEntries(readFileSync(`${map}.candidate`, 'utf8'));
          candidates.set(map, next);
          if (!existsSync(`${map}.db`)) return;
          const live = this.liveEntries.get(map) ?? tableEntries((await run('postmap', ['-c', this.paths.configDir, '-s', `hash:${map}`])).stdout);
          if ([...live.keys()].every((key) => next.has(key))) return;
          writeFileAtomic(`${map}.union`, [...new Map([...live, ...next])].map(([key, value]) => `${key} ${value}\n`).join(''), 0o644);
          await postmap(`${map}.union`);
          withRemovals.add(map);
        }),
      );
    } catch (error) {
      discard();
      throw error;
    }
    const renames: [string, string][] = [
      ...toBuild.map((map): [string, string] => [withRemovals.has(map) ? `${map}.union.db` : `${map}.candidate.db`, `${map}.db`]),
      ...this.removalOrder().flatMap((map): [string, string][] => (withRemovals.has(map) ? [[`${map}.candidate.db`, `${map}.db`]] : [])),
    ];
    const liveEntries = this.liveEntries;
    return {
      built: toBuild,
      renames,
      commit() {
        for (const map of toBuild) liveEntries.delete(map);
        for (const [from, to] of renames) renameSync(from, to);
        for (const [map, entries] of candidates) liveEntries.set(map, entries);
        discard();
      },
      discard,
    };
  }

  /** Folders, certificate and the sysdata access files; idempotent. */
  async prepare(): Promise<void> {
    const { layout, address } = this.context;
    layout.ensure();
    mkdirSync(this.paths.configDir, { recursive: true, mode: 0o755 });
    // postfix check creates the queue's subfolders; the queue itself must belong to root.
    mkdirSync(this.paths.queueDir, { recursive: true, mode: 0o755 });
    mkdirSync(this.paths.dataDir, { recursive: true, mode: 0o700 });
    const { stdout } = await run('getent', ['passwd', 'postfix']);
    const [, , uid, gid] = stdout.trim().split(':');
    chownSync(this.paths.dataDir, Number(uid), Number(gid));
    // Another driver owns the contents of these two; they only have to exist for smtpd to start.
    for (const accessFile of [this.paths.clientAccess, this.paths.senderAccess]) {
      if (!existsSync(accessFile)) writeFileAtomic(accessFile, '', 0o644);
    }

    await ensureMailCertificate(mailPaths(layout).dovecot.certificate, mailPaths(layout).dovecot.certificateKey, address, this.hostname);
  }

  async start(): Promise<void> {
    await this.prepare();
    if (!existsSync(this.paths.mainCf)) writeRenderedFiles(this.render(EMPTY_MAIL_STATE));
    // smtpd cannot open a hash: map without its .db.
    (await this.buildMaps([])).commit();
    // The certificates module owns the SNI table; smtpd needs it (maybe empty) to exist. postmap
    // reads main.cf, so this comes after it is written.
    if (!existsSync(`${this.paths.tlsSniMap}.db`)) {
      mkdirSync(dirname(this.paths.tlsSniMap), { recursive: true, mode: 0o755 });
      if (!existsSync(this.paths.tlsSniMap)) writeFileAtomic(this.paths.tlsSniMap, '', 0o600);
      await this.buildSniMap();
    }
    if (runningPid(this.paths.pidFile) !== undefined) return;
    await this.check();
    // Through launchDaemon like Dovecot, so the master can never hold our stderr pipe open.
    await launchDaemon('postfix', ['-c', this.paths.configDir, 'start'], this.paths.logFile);
    await waitFor(() => runningPid(this.paths.pidFile) !== undefined, 15_000, `postfix of ${this.context.address} to write its PID file`);
    this.context.log('postfix started', { pid: runningPid(this.paths.pidFile), address: this.context.address });
  }

  async stop(): Promise<void> {
    await stopByPidFile(this.paths.pidFile);
  }

  /**
   * `postfix check` looks at permissions and main.cf; `postconf -M` parses master.cf, which
   * `check` does not, so a broken service line is caught before a reload. With `changed` (the
   * files a change wrote), a change that wrote only lookup tables needs nothing more: buildMaps
   * already parsed each of them with Postfix's own reader and refused any line it would ignore.
   * `postfix check` reads no table, and its walk of the queue and the install (seconds on a busy
   * machine) would be paid by every account added to a node; and parsing the text again as
   * `postmap -s texthash:` would wait until each file is two seconds old (Postfix's guard against
   * reading a file still being written), which every mail batch paid.
   */
  async check(changed?: readonly string[]): Promise<void> {
    if (changed !== undefined && changed.every((path) => this.lookupTables().includes(path))) return;
    await daemonConfigCheck('postfix', this.name, async () => {
      await this.postfix(['check']);
      const { stderr } = await run('postconf', ['-c', this.paths.configDir, '-M']);
      if (/fatal|error/i.test(stderr)) throw new CommandError(['postconf', '-c', this.paths.configDir, '-M'], 1, '', stderr);
    });
  }

  /** Throws when the master cannot take it (gone, stopped, or `postfix reload` refusing), so no change is acknowledged unserved. */
  async reload(): Promise<void> {
    reloadableMaster('postfix', this.paths.pidFile);
    await this.postfix(['reload']);
  }

  /**
   * The processes that can still put a message into the hold queue under the configuration in
   * force now: smtpd decides HOLD during the SMTP session, cleanup then writes the queue file.
   * Taken before a reload that lifts a hold, for releaseHeld.
   */
  receivingProcesses(): number[] {
    const masterPid = runningPid(this.paths.pidFile);
    return masterPid === undefined ? [] : childPids(masterPid, ['smtpd', 'cleanup']);
  }

  /**
   * Moves every message in the hold queue back to delivery (postsuper -H ALL), then flushes.
   * A reload does not cut a session short: an smtpd that was in one at the reload (`receivers`,
   * from receivingProcesses before it) still applies the old HOLD rule, and its message can reach
   * the hold queue after the first release, where nothing would ever release it. So once those
   * processes are gone (a bounded wait), the hold queue is released a second time.
   */
  async releaseHeld(receivers: readonly number[] = []): Promise<void> {
    const masterPid = runningPid(this.paths.pidFile);
    if (masterPid === undefined) return;
    await this.releaseHoldQueue();
    if (receivers.length === 0) return;
    try {
      await waitFor(() => receivers.every((pid) => !isLiveChildOf(pid, masterPid)), RECEIVERS_GONE_MS, 'the smtpd and cleanup processes of the old configuration to finish');
    } catch {
      this.context.log('postfix: processes of the old configuration still receiving; releasing the hold queue again now', { pids: receivers });
    }
    await this.releaseHoldQueue();
  }

  private async releaseHoldQueue(): Promise<void> {
    await run('postsuper', ['-c', this.paths.configDir, '-H', 'ALL']);
    await this.postfix(['flush']);
  }

  /**
   * Delivers the queue now (postqueue -f with this instance's configuration): mail deferred while
   * its delivery target (this node's Dovecot) was down would otherwise wait for the next retry,
   * minutes away.
   */
  async flush(): Promise<void> {
    if (runningPid(this.paths.pidFile) === undefined) return;
    await run('postqueue', ['-c', this.paths.configDir, '-f']);
  }

  async status(): Promise<DriverStatus> {
    return { ...pidFileStatus(this.name, this.paths.pidFile), queued: countQueued(this.paths.queueDir) };
  }

  probes(): DaemonProbe[] {
    return [greetingProbe({ what: 'smtp banner', host: this.context.address, port: 25, expect: /^220[ -]/, bye: 'QUIT\r\n' })];
  }

  logFilePath(): string {
    return this.paths.logFile;
  }

  /** -F stores the key and chain files' contents in the table, so smtpd never opens them after dropping privileges. */
  private async buildSniMap(): Promise<void> {
    await run('postmap', ['-c', this.paths.configDir, '-F', `hash:${this.paths.tlsSniMap}`]);
  }

  async reloadCertificates(): Promise<void> {
    await this.buildSniMap();
    if (runningPid(this.paths.pidFile) === undefined) return;
    await this.reload();
  }

  private postfix(args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('postfix', ['-c', this.paths.configDir, ...args]);
  }
}

/** The maps of one change, built beside the live ones (PostfixDriver.buildMaps). */
export interface BuiltMaps {
  built: string[];
  /** What commit() renames, in its order (each one a state the running Postfix may see). */
  renames: [string, string][];
  commit(): void;
  discard(): void;
}

/** A table's lines (`postmap -s` output or a rendered source) as key → value; the key ends at the first blank. */
function tableEntries(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^(\S+)\s+(.*)$/.exec(line);
    if (match) entries.set(match[1]!, match[2]!);
  }
  return entries;
}

function mapIsBuilt(map: string): boolean {
  const db = `${map}.db`;
  return existsSync(db) && statSync(db).mtimeMs >= statSync(map).mtimeMs;
}

/** Messages in the queues that still have to go somewhere (hold included: it waits for a release). */
const QUEUES = ['incoming', 'active', 'deferred', 'hold', 'maildrop'];

function countQueued(queueDir: string): number {
  let count = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else count++;
    }
  };
  for (const queue of QUEUES) {
    const dir = join(queueDir, queue);
    // Postfix may be renaming a file between the listing and the look at it; a miss is a miss.
    if (existsSync(dir)) {
      try {
        walk(dir);
      } catch {
        /* a file moved on under us */
      }
    }
  }
  return count;
}
