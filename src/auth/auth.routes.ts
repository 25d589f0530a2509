import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { bearerToken, principalOf } from './guards.ts';
import type { AuthService } from './auth.service.ts';
import { IssuedTokenSchema, PrincipalSchema, SessionSchema } from './auth.schemas.ts';

export function registerAuthRoutes(app: HttpApp, auth: AuthService): void {
  app.post(
    '/api/session',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in with a user name and password; returns a bearer token',
        body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }),
        response: { 201: SessionSchema },
      },
    },
    async (request, reply) => {
      const session = await auth.login(request.body.username, request.body.password);
      return reply.status(201).send(session);
    },
  );

  app.delete(
    '/api/session',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log out: revoke the bearer token this request carries (a session or an API token); it is refused from then on',
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      // The hook authenticated the token first, so an unknown or expired one is a 401, not a silent success.
      principalOf(request);
      await auth.revokeToken(bearerToken(request.headers.authorization)!);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/tokens',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an API token for automation (billing systems, scripts)',
        body: Type.Object({ label: Type.String({ format: 'fp-line', maxLength: 100 }), ttlHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 87600 })) }),
        response: { 201: IssuedTokenSchema },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const issued = await auth.issueToken(principal.username, request.body.label, request.body.ttlHours ? request.body.ttlHours * 3600_000 : null);
      return reply.status(201).send(issued);
    },
  );

  app.get('/api/me', { schema: { tags: ['auth'], summary: 'Who the token belongs to', response: { 200: PrincipalSchema } } }, async (request) => principalOf(request));
}
