import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { requireRole } from '../auth/guards.ts';
import type { PasswordPolicyService } from './password-policy.service.ts';
import { PASSWORD_KINDS, MAX_SCORE, MIN_SCORE } from './password-policy.model.ts';

const NodeQuery = Type.Object({ node: Type.Optional(Type.String({ format: 'fp-alias' })) }, { additionalProperties: false });

export function registerPasswordPolicyRoutes(app: HttpApp, passwords: PasswordPolicyService): void {
  app.get(
    '/api/password-policy',
    { schema: { tags: ['passwords'], summary: "Minimum password strength per kind on a node (the parent's when no node is named)", querystring: NodeQuery } },
    async (request) => {
      requireRole(request, 'admin');
      return passwords.show(request.query.node);
    },
  );

  app.put(
    '/api/password-policy',
    {
      schema: {
        tags: ['passwords'],
        summary: 'Set the minimum zxcvbn score (0-4) for one kind of password on a node',
        body: Type.Object(
          {
            node: Type.Optional(Type.String({ format: 'fp-alias' })),
            kind: Type.Union(PASSWORD_KINDS.map((k) => Type.Literal(k))),
            minScore: Type.Integer({ minimum: MIN_SCORE, maximum: MAX_SCORE }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      requireRole(request, 'admin');
      return passwords.set(request.body.node, request.body.kind, request.body.minScore);
    },
  );
}
