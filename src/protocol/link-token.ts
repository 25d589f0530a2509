/**
 * The link handshake between a parent and an unlinked agent: the one-time token the agent prints
 * (its address, its certificate's fingerprint for the parent to pin, a secret), and the bodies of
 * the link, certificate and unlink calls.
 */
import { Type, type Static } from '@sinclair/typebox';
import { compileStrict } from './schema-check.ts';

export const LinkTokenPayload = Type.Object({
  /** host:port the agent serves on */
  a: Type.String(),
  /** fingerprint of the agent's current (self-signed) certificate, so the parent can pin it */
  f: Type.String(),
  /** the one-time secret */
  s: Type.String(),
});
export type LinkTokenPayload = Static<typeof LinkTokenPayload>;

export function encodeLinkToken(payload: LinkTokenPayload): string {
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

/** The token's payload, or null when the text is not a link token. */
export function decodeLinkToken(token: string): LinkTokenPayload | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token.trim(), 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!compileStrict(LinkTokenPayload)(parsed)) return null;
  const { a, f, s } = parsed as LinkTokenPayload;
  return { a, f, s };
}

/** POST /v1/link: the parent presents the token's secret and its CA. */
export const LinkRequest = Type.Object({
  secret: Type.String({ minLength: 1, maxLength: 200 }),
  parentId: Type.String({ minLength: 1, maxLength: 100 }),
  parentName: Type.String({ format: 'fp-line' }),
  caCertPem: Type.String({ minLength: 1, maxLength: 20_000 }),
});
export type LinkRequest = Static<typeof LinkRequest>;

export interface LinkResponse {
  version: string;
  publicKeyPem: string;
}

/** PUT /v1/tls/certificate: the agent's certificate, signed by the parent's CA. */
export const CertificateRequest = Type.Object({ certPem: Type.String({ minLength: 1, maxLength: 20_000 }) });
export type CertificateRequest = Static<typeof CertificateRequest>;

/** POST /v1/unlink: null leaves the new link token valid until it is used. */
export const UnlinkRequest = Type.Object({ tokenExpiresInHours: Type.Union([Type.Integer({ minimum: 1, maximum: 8760 }), Type.Null()]) });
export type UnlinkRequest = Static<typeof UnlinkRequest>;

/**
 * POST /v1/handover: the current parent lets one named new parent link this node in its place. The
 * answer is a link token whose secret only that parent can spend (it presents it to /v1/link);
 * until then the node keeps obeying its current parent.
 */
export const HandoverRequest = Type.Object({
  newParentId: Type.String({ minLength: 1, maxLength: 100 }),
  newParentName: Type.String({ format: 'fp-line' }),
  expiresInMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
});
export type HandoverRequest = Static<typeof HandoverRequest>;

export interface HandoverResponse {
  token: string;
}

export interface UnlinkResponse {
  unlinked: boolean;
  token: string;
}

/** GET /v1/hello, the one call an unlinked agent answers to anyone. */
export interface HelloResponse {
  product: string;
  version: string;
  linked: boolean;
  parentName: string | null;
  parentLocal: boolean;
}

/** A daemon on a node as its agent's watchdog reports it. */
export interface ServiceStatus {
  name: string;
  running: boolean;
  pid?: number;
  /** running, idle (nothing to serve), restarting, failed or stopped (by the admin); absent from agents without a watchdog */
  state?: string;
  restarts?: number;
  lastRestartAt?: string | null;
  problem?: string | null;
  /** the last lines of its log, for a failed service */
  logTail?: string[];
  /** messages in its queue (Postfix) */
  queued?: number;
}

/** GET /v1/health */
export interface HealthResponse {
  version: string;
  roles: string[];
  services: ServiceStatus[];
  time: string;
}
