import { Type, type TSchema } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { principalOf } from '../auth/guards.ts';
import type { CertificatesService } from './certificates.service.ts';
import type { PanelCertificate } from './panel-certificate.ts';
import { ConflictError } from '../core/errors.ts';
import { JobViewSchema } from '../jobs/job.schemas.ts';

const UserParams = Type.Object({ username: Type.String({ format: 'fp-username' }) });

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** An account's certificate as the routes show it: never its key. */
const CertificateViewSchema = Type.Object({
  account: Type.String(),
  domain: Type.String(),
  names: Type.Array(Type.String()),
  kind: Type.Union([Type.Literal('self-signed'), Type.Literal('issued')], { description: "'self-signed' until an ACME certificate is issued" }),
  issuer: Type.String(),
  notBefore: Type.String(),
  notAfter: Type.String(),
  renewAt: Type.String(),
  lastError: Nullable(Type.String()),
  failures: Type.Integer(),
  retryAt: Nullable(Type.String()),
  warning: Nullable(Type.String()),
});

/** The parent's own HTTPS certificate (never its key). */
const PanelCertificateViewSchema = Type.Object({
  hostname: Type.String(),
  kind: Type.Union([Type.Literal('self-signed'), Type.Literal('issued')]),
  issuer: Type.String(),
  notBefore: Type.String(),
  notAfter: Type.String(),
  renewAt: Type.String(),
  zoneAccount: Nullable(Type.String({ description: 'the account whose zone holds the host name (where the DNS-01 answers go); null when none does' })),
  lastError: Nullable(Type.String()),
  failures: Type.Integer(),
  retryAt: Nullable(Type.String()),
  warning: Nullable(Type.String()),
});

const AcmeSettingsSchema = Type.Object({
  directoryUrl: Nullable(Type.String({ description: 'null: orders are off until the admin sets a directory' })),
  caBundle: Type.Boolean({ description: "whether a private CA's PEM bundle is set" }),
});

export function registerCertificateRoutes(app: HttpApp, certificates: CertificatesService, panel: PanelCertificate | null): void {
  app.get(
    '/api/ssl/panel',
    {
      schema: {
        tags: ['ssl'],
        summary: "The certificate of the parent's own HTTPS (admin); null when the parent runs without --hostname",
        response: { 200: Nullable(PanelCertificateViewSchema) },
      },
    },
    async (request) => (panel ? panel.view(principalOf(request)) : null),
  );

  app.post('/api/ssl/panel/renew', { schema: { tags: ['ssl'], summary: "Order the parent's own certificate now (a job, admin)", response: { 202: Type.Object({ job: JobViewSchema }) } } }, async (request, reply) => {
    if (!panel) throw new ConflictError('the parent runs without --hostname, so it serves no HTTPS certificate of its own');
    return reply.status(202).send({ job: await panel.renew(principalOf(request)) });
  });

  app.get(
    '/api/ssl/certificates',
    { schema: { tags: ['ssl'], summary: 'The certificate of every account the caller may see: names, issuer, validity, renewal, last error (never a key)', response: { 200: Type.Object({ certificates: Type.Array(CertificateViewSchema) }) } } },
    async (request) => ({ certificates: await certificates.status(principalOf(request)) }),
  );

  app.get(
    '/api/accounts/:username/ssl',
    { schema: { tags: ['ssl'], summary: "The account's certificate (never its key)", params: UserParams, response: { 200: Type.Union([CertificateViewSchema, Type.Null()]) } } },
    async (request) => (await certificates.status(principalOf(request), request.params.username))[0] ?? null,
  );

  app.get(
    '/api/nodes/:alias/ssl',
    {
      schema: {
        tags: ['ssl'],
        summary: 'The certificates a node serves, each with its warning when it expires within 14 days and its renewal is failing (admin)',
        params: Type.Object({ alias: Type.String({ format: 'fp-alias' }) }),
        response: { 200: Type.Object({ certificates: Type.Array(CertificateViewSchema) }) },
      },
    },
    async (request) => ({ certificates: await certificates.onNode(principalOf(request), request.params.alias) }),
  );

  app.post(
    '/api/accounts/:username/ssl/renew',
    {
      schema: {
        tags: ['ssl'],
        summary: 'Order a new certificate now (a job); extra names must lie inside the account zone',
        params: UserParams,
        body: Type.Optional(Type.Object({ names: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 50 })) }, { additionalProperties: false })),
        response: { 202: Type.Object({ job: JobViewSchema }) },
      },
    },
    async (request, reply) => reply.status(202).send({ job: await certificates.renew(principalOf(request), request.params.username, request.body?.names ?? []) }),
  );

  app.get('/api/ssl/ca', { schema: { tags: ['ssl'], summary: 'The ACME directory the parent orders from (admin)', response: { 200: AcmeSettingsSchema } } }, async (request) => certificates.acmeSettingsView(principalOf(request)));

  app.put(
    '/api/ssl/ca',
    {
      schema: {
        tags: ['ssl'],
        summary: 'Set the ACME directory URL and, for a private CA, the PEM bundle that its HTTPS is signed by (admin)',
        body: Type.Object(
          { directoryUrl: Type.String({ minLength: 9, maxLength: 2048 }), caBundle: Type.Optional(Type.Union([Type.String({ maxLength: 65_536 }), Type.Null()])) },
          { additionalProperties: false },
        ),
        response: { 200: AcmeSettingsSchema },
      },
    },
    async (request) => certificates.setAcmeSettings(principalOf(request), request.body.directoryUrl, request.body.caBundle ?? null),
  );
}
