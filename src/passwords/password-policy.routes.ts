import { Type } from '@sinclair/typebox';
import type { HttpApp } from '../transport/http-app.ts';
import { principalOf, requireRole } from '../auth/guards.ts';
import type { Principal } from '../auth/principal.ts';
import { PolicyViewSchema, StrengthRequestSchema, StrengthSchema } from './password.schemas.ts';
import type { PasswordPolicyService } from './password-policy.service.ts';
import { PASSWORD_KINDS, MAX_SCORE, MIN_SCORE } from './password-policy.model.ts';

const NodeQuery = Type.Object({ node: Type.Optional(Type.String({ format: 'fp-alias' })) }, { additionalProperties: false });

/** How the strength check finds an account the caller may reach (the accounts service, by its shape). */
export interface AccountLookup {
  requireAccount(principal: Principal, username: string, access: 'user'): Promise<{ username: string; domain: string; mailNodeId: number | null }>;
}

export function registerPasswordPolicyRoutes(app: HttpApp, { passwords, accounts }: { passwords: PasswordPolicyService; accounts: AccountLookup }): void {
  app.get(
    '/api/password-policy',
    { schema: { tags: ['passwords'], summary: "Minimum password strength per kind on a node (the parent's when no node is named)", querystring: NodeQuery, response: { 200: PolicyViewSchema } } },
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
        response: { 200: PolicyViewSchema },
      },
    },
    async (request) => {
      requireRole(request, 'admin');
      return passwords.set(request.body.node, request.body.kind, request.body.minScore);
    },
  );

  app.post(
    '/api/password-strength',
    {
      schema: {
        tags: ['passwords'],
        summary: "Score a password against the policy in force (for an account's mailboxes: its mail node's), without storing anything",
        body: StrengthRequestSchema,
        response: { 200: StrengthSchema },
      },
    },
    async (request) => {
      const { kind, password, account: username, address } = request.body;
      const account = username === undefined ? null : await accounts.requireAccount(principalOf(request), username, 'user');
      const userInputs = [account?.username, account?.domain, address].filter((word): word is string => word !== undefined);
      return passwords.evaluate(kind, password, { mailNodeId: account?.mailNodeId ?? null, userInputs });
    },
  );
}
