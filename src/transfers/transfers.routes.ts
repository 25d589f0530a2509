/**
 * The parent-to-parent API of account transfers (target side), for another parent holding one of
 * this parent's admin tokens. The shape is written out in src/transfers/README.md.
 */
import { Type } from '@sinclair/typebox';
import type { Readable } from 'node:stream';
import type { HttpApp } from '../transport/http-app.ts';
import { principalOf } from '../auth/guards.ts';
import { JobViewSchema } from '../jobs/job.schemas.ts';
import type { TransferImportService } from './transfer-import.service.ts';
import type { TransferService } from './transfer.service.ts';
import { DATABASE_SQL_TYPE } from '../protocol/databases.ts';
import { DatabaseDigestAnswer, DigestAnswer, ImportAnswer, MailTargetAnswer, TransferBundle, TransferCheckAnswer, TransferCheckQuery, WebTargetAnswer } from './transfer.schemas.ts';

const ARCHIVE_TYPE = 'application/x-tar';
const Username = Type.Object({ username: Type.String({ format: 'fp-username' }) });
const Database = Type.Object({ username: Type.String({ format: 'fp-username' }), name: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }) });
const Mailbox = Type.Object({ username: Type.String({ format: 'fp-username' }), address: Type.String({ format: 'fp-email' }) });
const tags = ['transfers'];
const Placed = Type.Object({
  placed: Type.Boolean({ description: 'false: nothing was written (the mailbox holds mail there already); the source copies message by message instead' }),
  reason: Type.Optional(Type.String()),
});

export function registerTransferRoutes(app: HttpApp, { imports, transfers }: { imports: TransferImportService; transfers: TransferService }): void {
  app.post(
    '/api/accounts/:username/transfer',
    {
      schema: {
        tags,
        summary: 'Transfer an account to another parent/child pair (admin); checks the target at once, answers 202 with the job',
        params: Username,
        body: Type.Object(
          {
            to: Type.String({ maxLength: 1024, description: "the target parent's URL" }),
            token: Type.String({ minLength: 1, maxLength: 512, description: "one of the target parent's admin API tokens" }),
            mailNode: Type.Optional(Type.String({ format: 'fp-alias', description: "a mail child of the target, or 'local'" })),
          },
          { additionalProperties: false },
        ),
        response: { 202: Type.Object({ job: JobViewSchema }) },
      },
    },
    async (request, reply) => reply.status(202).send({ job: await transfers.start(principalOf(request), request.params.username, request.body) }),
  );

  app.get(
    '/api/transfers/check',
    { schema: { tags, summary: 'Whether an account of that name and domain could be imported here, and which node would hold its mail (admin)', querystring: TransferCheckQuery, response: { 200: TransferCheckAnswer } } },
    async (request) => imports.check(principalOf(request), request.query),
  );

  app.post(
    '/api/transfers/imports',
    { schema: { tags, summary: "Import an account's records from another parent in one go (admin); its mail is held until the import is finished", body: TransferBundle, response: { 201: ImportAnswer } } },
    async (request, reply) => reply.status(201).send(await imports.import(principalOf(request), request.body)),
  );

  app.get(
    '/api/transfers/imports/:username',
    { schema: { tags, summary: "Whether the account's import is under way here (admin)", params: Username, response: { 200: Type.Object({ underWay: Type.Boolean() }) } } },
    async (request) => imports.underWay(principalOf(request), request.params.username),
  );

  app.get(
    '/api/transfers/imports/:username/mail-target',
    { schema: { tags, summary: "Address and doveadm password of an account's mail node, for the source's mailbox sync (admin)", params: Username, response: { 200: MailTargetAnswer } } },
    async (request) => imports.mailTarget(principalOf(request), request.params.username),
  );

  app.get(
    '/api/transfers/imports/:username/web-target',
    { schema: { tags, summary: "Address of an account's web node, which the source's web node forwards the site's requests to until it removes its copy (admin)", params: Username, response: { 200: WebTargetAnswer } } },
    async (request) => imports.webTarget(principalOf(request), request.params.username),
  );

  app.register(async (scoped) => {
    // The body stays a stream: it goes on to the mail node's agent as it arrives.
    scoped.addContentTypeParser(ARCHIVE_TYPE, (_request, payload, done) => done(null, payload));
    scoped.put(
      '/api/transfers/imports/:username/mailboxes/:address/archive',
      { schema: { tags, summary: "A mailbox's files as a tar stream, placed on the mail node when it holds none of that mailbox (admin)", params: Mailbox, response: { 200: Placed } } },
      async (request) => {
        const params = request.params as { username: string; address: string };
        return imports.receiveMailbox(principalOf(request), params.username, params.address, request.body as Readable);
      },
    );
    scoped.addContentTypeParser(DATABASE_SQL_TYPE, (_request, payload, done) => done(null, payload));
    scoped.put(
      '/api/transfers/imports/:username/databases/:name/sql',
      { schema: { tags, summary: "One database's SQL (mariadb-dump) as a stream, restored into a new copy of it on the account's database node (admin)", params: Database, response: { 200: Type.Object({ restored: Type.String() }) } } },
      async (request) => {
        const params = request.params as { username: string; name: string };
        return imports.receiveDatabase(principalOf(request), params.username, params.name, request.body as Readable);
      },
    );
    scoped.put(
      '/api/transfers/imports/:username/site-archive',
      { schema: { tags, summary: "The site's files as a tar stream, in place of the new site's placeholder (admin)", params: Username, response: { 200: Placed } } },
      async (request) => imports.receiveSite(principalOf(request), (request.params as { username: string }).username, request.body as Readable),
    );
  });

  app.get(
    '/api/transfers/imports/:username/mailboxes/:address/digest',
    { schema: { tags, summary: 'Message count and GUIDs of a mailbox of an importing account (admin)', params: Mailbox, response: { 200: DigestAnswer } } },
    async (request) => imports.digest(principalOf(request), request.params.username, request.params.address),
  );

  app.get(
    '/api/transfers/imports/:username/databases/:name/digest',
    { schema: { tags, summary: "Tables, row counts and checksums of an imported account's database (admin)", params: Database, response: { 200: DatabaseDigestAnswer } } },
    async (request) => imports.databaseDigest(principalOf(request), request.params.username, request.params.name),
  );

  app.post(
    '/api/transfers/imports/:username/database-host',
    {
      schema: {
        tags,
        summary: "An installed WordPress names the source's database node in wp-config.php: it names this pair's from now on (admin)",
        params: Username,
        body: Type.Object({ from: Type.String({ format: 'fp-ipv4' }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ changed: Type.Boolean() }) },
      },
    },
    async (request) => imports.repointDatabaseHost(principalOf(request), request.params.username, request.body.from),
  );

  app.post(
    '/api/transfers/imports/:username/finish',
    { schema: { tags, summary: 'The source verified the copy: held mail is delivered and the account is an ordinary one (admin)', params: Username, response: { 200: Type.Object({ finished: Type.String() }) } } },
    async (request) => imports.finish(principalOf(request), request.params.username),
  );

  app.delete(
    '/api/transfers/imports/:username',
    {
      schema: {
        tags,
        summary: 'Remove an account whose import is under way, from its nodes and the store (admin); with returnTo, the mail held for it here is relayed there, as is mail still reaching this pair for its domain for a while',
        params: Username,
        querystring: Type.Object({ returnTo: Type.Optional(Type.String({ format: 'fp-ipv4' })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ removed: Type.Boolean() }) },
      },
    },
    async (request) => imports.abort(principalOf(request), request.params.username, request.query.returnTo),
  );
}
