/**
 * The mail workload of one node: its Dovecot and its Postfix, driven together from one MailState.
 * Changes are validated whole, written only where they differ, checked by each daemon's own
 * checker and rolled back when refused or when a reload fails; only the daemons whose files
 * changed are reloaded.
 */
import { existsSync } from 'node:fs';
import type { DriverContext, DriverStatus } from '../agent/driver.ts';
import type { Readable } from 'node:stream';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import { readJsonFile, writeFileAtomic } from '../core/files.ts';
import { SerialQueue } from '../core/serial-by-key.ts';
import { assertValid, checkEmail, checkHostname, checkIpv4 } from '../core/grammar.ts';
import { loginEnabledAddresses } from './dovecot-config.ts';
import { DovecotDriver } from './dovecot.driver.ts';
import { mailPaths, type MailPaths } from './mail-paths.ts';
import { domainOf, EMPTY_MAIL_STATE, validateMailState, type MailApplyResult, type MailboxDigest, type MailState } from '../protocol/mail-state.ts';
import { PostfixDriver, type BuiltMaps } from './postfix.driver.ts';
import { writeRenderedFiles, type WrittenFiles } from './rendered-files.ts';
import { exportMailbox, importMailbox, type MailboxImport } from './mailbox-archive.ts';
import { lookupMailSystemIds } from './mail-system.ts';


export interface MailDriverOptions {
  /** HELO name and certificate name; distinct per node, or Postfix takes a relay to a sibling for a loop. */
  hostname?: string;
}


export class MailDriver {
  readonly dovecot: DovecotDriver;
  readonly postfix: PostfixDriver;
  readonly hostname: string;
  private readonly paths: MailPaths;
  /** One change at a time per node: two applies must never interleave their writes and rollbacks. */
  private readonly changes = new SerialQueue();

  constructor(
    private readonly context: DriverContext,
    options: MailDriverOptions = {},
  ) {
    assertValid('address', context.address, checkIpv4);
    this.hostname = assertValid('hostname', options.hostname ?? `mail-${context.address.replaceAll('.', '-')}.fleet.internal`, checkHostname);
    this.paths = mailPaths(context.layout);
    this.dovecot = new DovecotDriver(context, this.hostname);
    this.postfix = new PostfixDriver(context, this.hostname);
  }

  /** What appliedState() read or wrote last: this driver is the file's only writer. */
  private applied: MailState | undefined;

  /**
   * The state last applied (empty before the first apply). Read from its file once: webmail asks
   * after every push, and on a node of 2,000 domains reading and parsing it each time was a
   * tenth of the agent's own time per change.
   */
  appliedState(): MailState {
    this.applied ??= readJsonFile<MailState>(this.paths.appliedState, EMPTY_MAIL_STATE);
    return this.applied;
  }

  /** Renders the last applied state (so a restart comes back as it was) and starts Dovecot, then Postfix, which delivers to it. */
  start(): Promise<void> {
    return this.changes.run(async () => {
      await this.dovecot.prepare();
      await this.postfix.prepare();
      const state = this.appliedState();
      // A newer agent may render the same state differently; an instance that kept running
      // through the agent's restart picks that up by a reload (start() leaves it alone).
      const dovecotChanged = writeRenderedFiles(await this.dovecot.render(state)).changedPaths.length > 0;
      const postfixWrite = writeRenderedFiles(this.postfix.render(state));
      const maps = await this.postfix.buildMaps(postfixWrite.changedPaths);
      maps.commit();
      const postfixChanged = postfixWrite.changedPaths.length > 0 || maps.built.length > 0;
      for (const [driver, changed] of [[this.dovecot, dovecotChanged], [this.postfix, postfixChanged]] as const) {
        if (changed && (await driver.status()).running) {
          await driver.check();
          await driver.reload();
        }
        await driver.start();
      }
    });
  }

  stop(): Promise<void> {
    return this.changes.run(async () => {
      await this.postfix.stop();
      await this.dovecot.stop();
    });
  }

  async status(): Promise<DriverStatus[]> {
    return [await this.dovecot.status(), await this.postfix.status()];
  }

  apply(input: unknown): Promise<MailApplyResult> {
    return this.changes.run(async () => {
      const state = validateMailState(input);
      this.refuseSelfReferences(state);
      const before = this.appliedState();
      const dovecotFiles = await this.dovecot.render(state);
      const postfixFiles = this.postfix.render(state);

      const written: WrittenFiles[] = [];
      let maps: BuiltMaps | undefined;
      const rollback = () => {
        maps?.discard();
        for (const files of written.reverse()) files.restore();
      };
      let dovecotChanged = false;
      let dovecotReload = false;
      let postfixChanged = false;
      let postfixPaths: string[] = [];
      try {
        const dovecotWrite = writeRenderedFiles(dovecotFiles);
        written.push(dovecotWrite);
        const postfixWrite = writeRenderedFiles(postfixFiles);
        written.push(postfixWrite);
        postfixPaths = postfixWrite.changedPaths;
        // Only the tables whose source changed are rebuilt (postmap refuses a broken one here too).
        maps = await this.postfix.buildMaps(postfixPaths);
        dovecotChanged = dovecotWrite.changedPaths.length > 0;
        dovecotReload = this.dovecot.needsReload(dovecotWrite.changedPaths);
        postfixChanged = postfixPaths.length > 0 || maps.built.length > 0;
        if (dovecotReload) await this.dovecot.check();
        if (postfixChanged) await this.postfix.check(postfixWrite.changedPaths);
      } catch (error) {
        rollback();
        throw error;
      }
      maps.commit();
      // Mail held for a domain whose hold was lifted is delivered now rather than never, also mail
      // that a session begun before the reload still held (see PostfixDriver.releaseHeld).
      const stillHeld = new Set(state.domains.filter((d) => d.holdDelivery === true).map((d) => d.domain));
      const holdLifted = before.domains.some((d) => d.holdDelivery === true && !stillHeld.has(d.domain));
      const receivers = holdLifted && postfixChanged ? this.postfix.receivingProcesses() : [];
      // A reload that fails (a master gone or stopped, a reload command refusing) fails the whole
      // change: every file goes back, and a daemon that already took the new files takes the old
      // ones again, so the node serves what it served before and nobody is told otherwise.
      const reloaded: (DovecotDriver | PostfixDriver)[] = [];
      try {
        if (dovecotReload) {
          await this.dovecot.reload();
          reloaded.push(this.dovecot);
        } else if (dovecotChanged) {
          await this.dovecot.awaitDataFiles();
        }
        if (postfixChanged) {
          await this.postfix.reload();
          reloaded.push(this.postfix);
        }
      } catch (error) {
        rollback();
        // The committed tables go back too: built again from the sources just restored.
        await this.postfix.buildMaps(postfixPaths).then((back) => back.commit(), (undo: unknown) => this.context.log('postfix: rebuilding the previous lookup tables failed', { error: String(undo) }));
        for (const driver of reloaded) {
          await driver.reload().catch((undo: unknown) => this.context.log(`${driver.name}: reload back to the previous configuration failed`, { error: String(undo) }));
        }
        // Passwd-files put back are read again from the next second on, like the new ones.
        if (dovecotChanged && !dovecotReload) await this.dovecot.awaitDataFiles().catch(() => undefined);
        throw error;
      }
      // Only now: a restart renders this state, so it must be one the daemons took.
      writeFileAtomic(this.paths.appliedState, `${JSON.stringify(state, null, 2)}\n`, 0o600);
      this.applied = state;
      if (holdLifted) await this.postfix.releaseHeld(receivers);
      // Mail deferred under the old routes, or while Dovecot's LMTP was starting anew after a
      // reload, is tried again now rather than at the next retry.
      else if (dovecotReload || (postfixChanged && routesChanged(before, state))) await this.postfix.flush();
      // Refusing new logins is not enough: a suspended (or moved) mailbox's open sessions end too.
      const stillLocal = new Set(localLogins(state));
      const lostLogin = localLogins(before).filter((address) => !stillLocal.has(address));
      await this.dovecot.kick(lostLogin);
      this.context.log('mail state applied', { dovecotChanged, postfixChanged, mailboxes: state.mailboxes.length, kicked: lostLogin.length });
      return { dovecotChanged, postfixChanged };
    });
  }

  /** For the sysdata driver, after it rewrote fleet-client-access.cidr or fleet-sender-access. */
  reloadPostfix(): Promise<void> {
    return this.changes.run(async () => {
      await this.postfix.check();
      await this.postfix.reload();
    });
  }

  /** After the certificates module changed the node's domain certificates: one reload of each, in turn with config changes. */
  reloadCertificates(daemon: 'dovecot' | 'postfix'): Promise<void> {
    return this.changes.run(() => this[daemon].reloadCertificates());
  }

  kick(addresses: string[]): Promise<void> {
    addresses.forEach((address, index) => assertValid(`addresses[${index}]`, address, checkEmail));
    return this.dovecot.kick(addresses);
  }

  mailboxDigest(address: string): Promise<MailboxDigest> {
    assertValid('address', address, checkEmail);
    return this.dovecot.mailboxDigest(address);
  }

  syncMailboxTo(address: string, targetAddress: string, targetDoveadmPassword: string, options: { full?: boolean } = {}): Promise<void> {
    assertValid('address', address, checkEmail);
    assertValid('targetAddress', targetAddress, checkIpv4);
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(targetDoveadmPassword)) throw new ValidationError('targetDoveadmPassword', 'is not a doveadm password of a node');
    return this.dovecot.syncMailboxTo(address, targetAddress, targetDoveadmPassword, options);
  }

  /** The mailbox's files as one tar stream, for a move (mailbox-archive.ts). */
  exportMailbox(address: string): Readable {
    assertValid('address', address, checkEmail);
    return exportMailbox(this.dovecot.paths, address);
  }

  /** Takes a stream from another node's exportMailbox, for a mailbox this node is configured to hold. */
  async importMailbox(address: string, input: Readable): Promise<MailboxImport> {
    assertValid('address', address, checkEmail);
    if (!this.appliedState().mailboxes.some((m) => m.address === address)) {
      input.resume();
      throw new NotFoundError('mailbox', address);
    }
    return importMailbox(this.dovecot.paths, await lookupMailSystemIds(), address, input);
  }

  /** Deletes the mailbox's Maildir (and Dovecot's index in it) after ending its sessions. */
  async removeMailbox(address: string): Promise<void> {
    assertValid('address', address, checkEmail);
    await this.dovecot.kick([address]);
    this.dovecot.removeMailbox(address);
  }

  doveadmPassword(): string {
    if (!existsSync(this.dovecot.paths.doveadmPasswordFile)) throw new ValidationError('doveadmPassword', 'the mail instance has not been started yet');
    return this.dovecot.doveadmPassword();
  }

  /** Relaying or proxying a domain to this very node would loop until the hop limit. */
  private refuseSelfReferences(state: MailState): void {
    state.domains.forEach((domain, index) => {
      if (domain.relayTo === this.context.address) throw new ValidationError(`domains[${index}].relayTo`, 'must not be this node itself');
      if (domain.proxyTo === this.context.address) throw new ValidationError(`domains[${index}].proxyTo`, 'must not be this node itself');
    });
  }

}

/** Mailboxes whose logins this node serves itself: enabled, and their domain not proxied elsewhere. */
function localLogins(state: MailState): string[] {
  const proxiedDomains = new Set(state.domains.filter((d) => d.proxyTo !== undefined).map((d) => d.domain));
  return loginEnabledAddresses(state).filter((address) => !proxiedDomains.has(domainOf(address)));
}

/** Whether a domain came, went, or changed between delivering here and relaying (or where it relays to). */
function routesChanged(before: MailState, after: MailState): boolean {
  const routes = (state: MailState) => state.domains.map((d) => `${d.domain} ${d.relayTo ?? 'local'}`).sort().join('\n');
  return routes(before) !== routes(after);
}
