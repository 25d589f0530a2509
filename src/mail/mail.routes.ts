import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { principalOf } from '../auth/guards.ts';
import { MAX_QUOTA_MB } from '../protocol/mail-state.ts';
import type { MailService } from './mail.service.ts';
import { AccountForwardersSchema, AccountMailboxesSchema, AllForwardersSchema, AllMailboxesSchema, DomainAccountSchema, ForwarderAddedSchema, ForwardersRemovedSchema, MailboxAddedSchema, MailboxPasswordSetSchema, MailboxRemovedSchema } from './mail.schemas.ts';

const Username = Type.String({ format: 'fp-username' });
const Email = Type.String({ format: 'fp-email' });
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const UserParams = Type.Object({ username: Username });
const MailboxParams = Type.Object({ username: Username, address: Email });
const SourceParams = Type.Object({ username: Username, source: Email });

export function registerMailRoutes(app: HttpApp, mail: MailService): void {
  app.get(
    '/api/mail/domains/:domain/account',
    { schema: { tags: ['mail'], summary: 'The account a mail domain belongs to (the CLI finds the account of an address this way)', params: Type.Object({ domain: Type.String({ format: 'fp-domain' }) }), response: { 200: DomainAccountSchema } } },
    async (request) => mail.accountForAddress(principalOf(request), `postmaster@${request.params.domain}`, 'domain'),
  );

  app.get('/api/mail/mailboxes', { schema: { tags: ['mail'], summary: 'Every mailbox you may see (from the parent’s store)', response: { 200: AllMailboxesSchema } } }, async (request) =>
    mail.listAllMailboxes(principalOf(request)),
  );

  app.get('/api/mail/forwarders', { schema: { tags: ['mail'], summary: 'Every forwarder you may see', response: { 200: AllForwardersSchema } } }, async (request) => mail.listAllForwarders(principalOf(request)));

  app.get(
    '/api/accounts/:username/mail/mailboxes',
    { schema: { tags: ['mail'], summary: "The account's mailboxes with message counts, as its mail node holds them", params: UserParams, response: { 200: AccountMailboxesSchema } } },
    async (request) => mail.listMailboxes(principalOf(request), request.params.username),
  );

  app.post(
    '/api/accounts/:username/mail/mailboxes',
    {
      schema: {
        tags: ['mail'],
        summary: "Add a mailbox at the account's domain (within the plan's mailbox count and disk space)",
        params: UserParams,
        body: Type.Object({ address: Email, password: Password, quotaMb: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_QUOTA_MB })) }, { additionalProperties: false }),
        response: { 201: MailboxAddedSchema },
      },
    },
    async (request, reply) => reply.status(201).send(await mail.addMailbox(principalOf(request), request.params.username, request.body)),
  );

  app.delete('/api/accounts/:username/mail/mailboxes/:address', { schema: { tags: ['mail'], summary: 'Remove a mailbox and its mail', params: MailboxParams, response: { 200: MailboxRemovedSchema } } }, async (request) =>
    mail.removeMailbox(principalOf(request), request.params.username, request.params.address),
  );

  app.put(
    '/api/accounts/:username/mail/mailboxes/:address/password',
    { schema: { tags: ['mail'], summary: "Set a mailbox's password (the mail policy of the node holding the account's mail applies)", params: MailboxParams, body: Type.Object({ password: Password }, { additionalProperties: false }), response: { 200: MailboxPasswordSetSchema } } },
    async (request) => mail.setMailboxPassword(principalOf(request), request.params.username, request.params.address, request.body.password),
  );

  app.get('/api/accounts/:username/mail/forwarders', { schema: { tags: ['mail'], summary: "The account's forwarders: to addresses (type forward) and to programs (type pipe)", params: UserParams, response: { 200: AccountForwardersSchema } } }, async (request) =>
    mail.listForwarders(principalOf(request), request.params.username),
  );

  app.post(
    '/api/accounts/:username/mail/forwarders',
    {
      schema: {
        tags: ['mail'],
        summary: 'Forward an address of the account to other addresses, or pipe its mail to a program (give destinations or pipe)',
        params: UserParams,
        body: Type.Object(
          {
            source: Email,
            destinations: Type.Optional(Type.Array(Email, { minItems: 1, maxItems: 50 })),
            pipe: Type.Optional(Type.String({ format: 'fp-path', maxLength: 1024, description: 'absolute path of the program; it receives the message on standard input' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: ForwarderAddedSchema },
      },
    },
    async (request, reply) => reply.status(201).send(await mail.addForwarder(principalOf(request), request.params.username, request.body)),
  );

  app.delete(
    '/api/accounts/:username/mail/forwarders/:source',
    {
      schema: {
        tags: ['mail'],
        summary: "Remove the source's forwarders: all, or the one to `destination`, or the pipe to `pipe`",
        params: SourceParams,
        querystring: Type.Object({ destination: Type.Optional(Email), pipe: Type.Optional(Type.String({ format: 'fp-path', maxLength: 1024 })) }, { additionalProperties: false }),
        response: { 200: ForwardersRemovedSchema },
      },
    },
    async (request) => mail.removeForwarder(principalOf(request), request.params.username, request.params.source, request.query),
  );
}
