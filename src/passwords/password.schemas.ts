/** What the password-policy routes answer, for the OpenAPI document and the panel's types. */
import { Type } from '@sinclair/typebox';
import { PASSWORD_KINDS } from './password-policy.model.ts';

const Kind = Type.Union(PASSWORD_KINDS.map((k) => Type.Literal(k)));

export const PolicyViewSchema = Type.Object({
  node: Type.Union([Type.String(), Type.Null()]),
  kinds: Type.Array(
    Type.Object({
      kind: Kind,
      minScore: Type.Integer(),
      source: Type.Union([Type.Literal('parent'), Type.Literal('node'), Type.Literal('default')]),
      from: Type.String(),
    }),
  ),
});

export const StrengthRequestSchema = Type.Object(
  {
    kind: Kind,
    password: Type.String({ maxLength: 1024 }),
    account: Type.Optional(Type.String({ format: 'fp-username', description: "the account whose mail node's policy applies (mail kinds)" })),
    address: Type.Optional(Type.String({ maxLength: 254, description: 'the mailbox address, counted as known to an attacker' })),
  },
  { additionalProperties: false },
);

export const StrengthSchema = Type.Object({
  score: Type.Integer({ description: '0 (too guessable) to 4 (very unguessable)' }),
  minScore: Type.Integer({ description: 'what the policy in force needs' }),
  acceptable: Type.Boolean(),
  hint: Type.Union([Type.String(), Type.Null()]),
});
