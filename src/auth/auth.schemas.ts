/** What the auth routes answer, as TypeBox schemas: the OpenAPI document and the panel's types come from them. */
import { Type } from '@sinclair/typebox';

export const PrincipalSchema = Type.Object({
  username: Type.String(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('reseller'), Type.Literal('user')]),
});

export const SessionSchema = Type.Object({
  token: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  principal: PrincipalSchema,
});

/** An API token as issued: shown once, only its hash is kept. */
export const IssuedTokenSchema = Type.Object({
  token: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
});
