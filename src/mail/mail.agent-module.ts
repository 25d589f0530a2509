/**
 * The mail workload on a node: the parent sends the node's whole MailState (validated again here,
 * a node never trusts its input) and asks for the per-mailbox operations a move needs (kick,
 * digest, sync to another node, removal). Dovecot and Postfix are one MailDriver underneath;
 * they are exposed to the agent as two daemons so `/v1/health` lists both and the sysdata module
 * finds 'postfix' to reload after it rewrote the access maps.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { AgentContext, AgentModule } from '../agent/agent-module.ts';
import type { DaemonDriver, DaemonProbe, DriverContext, DriverStatus } from '../agent/driver.ts';
import { requireDaemon } from '../agent/require-daemon.ts';
import { assertValid, checkDomain, checkEmail, checkLocalPart } from '../core/grammar.ts';
import { mailboxHome } from './dovecot-config.ts';
import { MailDriver } from './mail.driver.ts';
import { mailPaths } from './mail-paths.ts';
import { domainOf, KickRequest, MAIL_STATE_SHAPE, MailState, MailStateChange, SyncToRequest, type HeldMailbox, type MailStateApplied } from '../protocol/mail-state.ts';
import { AppliedState, stateRequestLine, type StateStep } from '../protocol/keyed-state.ts';

/** Starting it starts the whole mail instance (Dovecot, then Postfix, which delivers to it) from the last applied state. */
class DovecotDaemon implements DaemonDriver {
  readonly name = 'dovecot';
  constructor(readonly mail: MailDriver) {}
  start(): Promise<void> {
    return this.mail.start();
  }
  /** Dovecot alone: Postfix keeps accepting and queues what it cannot deliver until Dovecot is back. */
  stop(): Promise<void> {
    return this.mail.dovecot.stop();
  }
  check(): Promise<void> {
    return this.mail.dovecot.check();
  }
  reload(): Promise<void> {
    return this.mail.dovecot.reload();
  }
  reloadCertificates(): Promise<void> {
    return this.mail.reloadCertificates('dovecot');
  }
  status(): Promise<DriverStatus> {
    return this.mail.dovecot.status();
  }
  probes(): DaemonProbe[] {
    return this.mail.dovecot.probes();
  }
  logFilePath(): string {
    return this.mail.dovecot.logFilePath();
  }
  /** Dovecot is Postfix's delivery target: what Postfix deferred while it was down goes in now, not at the next retry. */
  afterRestart(): Promise<void> {
    return this.mail.postfix.flush();
  }
}

/** The Postfix half; its reload goes through the MailDriver's queue so it never lands in the middle of a state change. */
class PostfixDaemon implements DaemonDriver {
  readonly name = 'postfix';
  constructor(readonly mail: MailDriver) {}
  start(): Promise<void> {
    return this.mail.postfix.start();
  }
  stop(): Promise<void> {
    return this.mail.postfix.stop();
  }
  check(): Promise<void> {
    return this.mail.postfix.check();
  }
  reload(): Promise<void> {
    return this.mail.reloadPostfix();
  }
  reloadCertificates(): Promise<void> {
    return this.mail.reloadCertificates('postfix');
  }
  status(): Promise<DriverStatus> {
    return this.mail.postfix.status();
  }
  probes(): DaemonProbe[] {
    return this.mail.postfix.probes();
  }
  logFilePath(): string {
    return this.mail.postfix.logFilePath();
  }
}


function countMaildirMessages(maildir: string): number {
  if (!existsSync(maildir)) return 0;
  let count = 0;
  // INBOX is the Maildir itself; every other folder is a '.Name' Maildir inside it.
  const folders = [maildir, ...readdirSync(maildir).filter((name) => name.startsWith('.') && name !== '.' && name !== '..').map((name) => join(maildir, name))];
  for (const folder of folders) {
    if (!statSync(folder).isDirectory()) continue;
    for (const part of ['cur', 'new']) {
      const dir = join(folder, part);
      if (existsSync(dir)) count += readdirSync(dir).length;
    }
  }
  return count;
}

/** Mailboxes of a domain that this node holds: the configured ones and those whose Maildir is still on disk. */
export function heldMailboxes(ctx: DriverContext, mail: MailDriver, domain: string): HeldMailbox[] {
  const paths = mailPaths(ctx.layout).dovecot;
  const configured = new Set(mail.appliedState().mailboxes.map((m) => m.address).filter((address) => domainOf(address) === domain));
  const onDisk = existsSync(join(paths.mailRoot, domain))
    ? readdirSync(join(paths.mailRoot, domain))
        .filter((local) => checkLocalPart(local) === null)
        .map((local) => `${local}@${domain}`)
    : [];
  return [...new Set([...configured, ...onDisk])].sort().map((address) => ({
    address,
    messages: countMaildirMessages(join(mailboxHome(paths, address), 'Maildir')),
    configured: configured.has(address),
  }));
}

/** The media type of a mailbox stream between nodes. */
export const MAILBOX_ARCHIVE_TYPE = 'application/x-tar';

const AddressParams = Type.Object({ address: Type.String({ format: 'fp-email' }) });

function mailOf(ctx: AgentContext): MailDriver {
  return requireDaemon<DovecotDaemon>(ctx, 'dovecot', 'mail').mail;
}

/** The running mail instance, if any: the webmail module serves the domains of its applied state. */
export function mailDriverOf(ctx: AgentContext): MailDriver | undefined {
  return ctx.daemon<DovecotDaemon>('dovecot')?.mail;
}

export const mailAgentModule: AgentModule = {
  name: 'mail',
  role: 'mail',
  daemons: (ctx) => {
    const mail = new MailDriver(ctx);
    return [new DovecotDaemon(mail), new PostfixDaemon(mail)];
  },
  register(app, ctx) {
    // The schema checks every field; the driver's validateMailState adds the rules across items.
    // Webmail follows from the parent, which asks for it after every push (webmail.parent.ts).
    const applied = new AppliedState(MAIL_STATE_SHAPE);
    const requests = stateRequestLine(() => applied.forget());
    const apply = (stepOf: () => StateStep<MailState>): Promise<MailStateApplied> => requests(stepOf, (step) => mailOf(ctx).apply(step.state));
    app.put('/v1/mail/state', { schema: { body: MailState } }, (request) => apply(() => applied.whole(request.body)));
    // A change ends in the whole state it leads to, which the driver checks whole like any other.
    app.patch('/v1/mail/state', { schema: { body: MailStateChange } }, (request) => apply(() => applied.change(request.body, 'mail state')));

    app.post(
      '/v1/mail/kick',
      { schema: { body: KickRequest } },
      async (request) => {
        await mailOf(ctx).kick(request.body.addresses);
        return { kicked: request.body.addresses.length };
      },
    );

    app.get('/v1/mail/mailboxes', { schema: { querystring: Type.Object({ domain: Type.String({ format: 'fp-domain' }) }) } }, async (request) => {
      const domain = assertValid('domain', request.query.domain, checkDomain);
      return { domain, mailboxes: heldMailboxes(ctx, mailOf(ctx), domain) };
    });

    app.get('/v1/mail/mailboxes/:address/digest', { schema: { params: AddressParams } }, async (request) =>
      mailOf(ctx).mailboxDigest(assertValid('address', request.params.address, checkEmail)),
    );

    app.post(
      '/v1/mail/mailboxes/:address/sync-to',
      {
        schema: {
          params: AddressParams,
          body: SyncToRequest,
        },
      },
      async (request) => {
        await mailOf(ctx).syncMailboxTo(request.params.address, request.body.targetAddress, request.body.targetDoveadmPassword, { full: request.body.full ?? true });
        return { synced: request.params.address, to: request.body.targetAddress };
      },
    );

    // A whole mailbox as a tar stream, which the parent relays into the PUT below on another
    // node (mailbox-archive.ts): the bulk half of a move's copy step.
    app.get('/v1/mail/mailboxes/:address/archive', { schema: { params: AddressParams } }, async (request, reply) =>
      reply.type(MAILBOX_ARCHIVE_TYPE).send(mailOf(ctx).exportMailbox(request.params.address)),
    );
    app.register(async (scoped) => {
      // The body stays a stream: tar reads it as it arrives, nothing is held in memory.
      scoped.addContentTypeParser(MAILBOX_ARCHIVE_TYPE, (_request, payload, done) => done(null, payload));
      scoped.put('/v1/mail/mailboxes/:address/archive', { schema: { params: AddressParams } }, async (request) =>
        mailOf(ctx).importMailbox((request.params as { address: string }).address, request.body as Readable),
      );
    });

    app.delete('/v1/mail/mailboxes/:address', { schema: { params: AddressParams } }, async (request) => {
      await mailOf(ctx).removeMailbox(request.params.address);
      return { removed: request.params.address };
    });

    app.get('/v1/mail/doveadm-password', async () => ({ password: mailOf(ctx).doveadmPassword() }));
  },
};
