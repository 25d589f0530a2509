import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { principalOf } from '../auth/guards.ts';
import type { CertificatesService } from './certificates.service.ts';

const UserParams = Type.Object({ username: Type.String({ format: 'fp-username' }) });

export function registerCertificateRoutes(app: HttpApp, certificates: CertificatesService): void {
  app.get(
    '/api/ssl/certificates',
    { schema: { tags: ['ssl'], summary: 'The certificate of every account the caller may see: names, issuer, validity, renewal, last error (never a key)' } },
    async (request) => ({ certificates: await certificates.status(principalOf(request)) }),
  );

  app.get(
    '/api/accounts/:username/ssl',
    { schema: { tags: ['ssl'], summary: "The account's certificate (never its key)", params: UserParams } },
    async (request) => (await certificates.status(principalOf(request), request.params.username))[0] ?? null,
  );

  app.post(
    '/api/accounts/:username/ssl/renew',
    {
      schema: {
        tags: ['ssl'],
        summary: 'Order a new certificate now (a job); extra names must lie inside the account zone',
        params: UserParams,
        body: Type.Optional(Type.Object({ names: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 50 })) }, { additionalProperties: false })),
      },
    },
    async (request, reply) => reply.status(202).send({ job: await certificates.renew(principalOf(request), request.params.username, request.body?.names ?? []) }),
  );

  app.get('/api/ssl/ca', { schema: { tags: ['ssl'], summary: 'The ACME directory the parent orders from (admin)' } }, async (request) => certificates.acmeSettingsView(principalOf(request)));

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
      },
    },
    async (request) => certificates.setAcmeSettings(principalOf(request), request.body.directoryUrl, request.body.caBundle ?? null),
  );
}
