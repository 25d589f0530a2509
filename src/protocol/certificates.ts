/**
 * What parent and agent exchange about the domain certificates a node serves (routes in
 * agent-routes.ts, served by src/certificates/certificates.agent-module.ts). The key travels only
 * inside the parent's mTLS link, and the node answers with what changed, never with a key.
 */
import { Type, type Static } from '@sinclair/typebox';

export const CertificateDomainParams = Type.Object({ domain: Type.String({ format: 'fp-domain' }) });

/** PUT /v1/certificates/:domain: the certificate (chain first) and key that serve these names. */
export const DomainCertificateRequest = Type.Object(
  {
    names: Type.Array(Type.String({ format: 'fp-domain' }), { minItems: 1, maxItems: 100 }),
    certPem: Type.String({ minLength: 1, maxLength: 65_536 }),
    keyPem: Type.String({ minLength: 1, maxLength: 16_384 }),
  },
  { additionalProperties: false },
);
export type DomainCertificateRequest = Static<typeof DomainCertificateRequest>;

/** POST /v1/certificates/retain: the node keeps exactly these domains' certificates (data sync). */
export const RetainCertificatesRequest = Type.Object(
  { domains: Type.Array(Type.String({ format: 'fp-domain' }), { maxItems: 100_000 }) },
  { additionalProperties: false },
);
export type RetainCertificatesRequest = Static<typeof RetainCertificatesRequest>;

export interface CertificateInstallResult {
  changed: boolean;
}

export interface CertificateRemoveResult {
  removed: boolean;
}

export interface RetainCertificatesResult {
  removed: string[];
}
