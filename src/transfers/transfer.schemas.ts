/**
 * What one parent sends another when an account is transferred between parent/child pairs: the
 * account's records (no mail, no files: those follow as streams), checked by the target's API
 * with the same strict grammars as everywhere else.
 */
import { Type, type Static } from '@sinclair/typebox';
import { PASSWORD_HASH_PATTERN } from '../protocol/mail-state.ts';
import { NATIVE_PASSWORD_HASH } from '../protocol/databases.ts';
import { ZoneRecordSchema } from '../protocol/zone-record.ts';

const strict = { additionalProperties: false } as const;

export const BUNDLE_VERSION = 1;

/** A database or database-user name as MariaDB holds it; the account prefix is checked beside the schema. */
const DatabaseName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', reason: 'must be a database name (a-z, 0-9 and _, a letter first, at most 64)' });

export const TransferBundle = Type.Object(
  {
    version: Type.Literal(BUNDLE_VERSION),
    /** the source parent's name, kept on the target while the import is under way */
    source: Type.String({ format: 'fp-hostname' }),
    account: Type.Object(
      {
        username: Type.String({ format: 'fp-username' }),
        domain: Type.String({ format: 'fp-domain' }),
        /** the panel login's argon2id hash, as the source stores it */
        passwordHash: Type.String({ pattern: '^\\$argon2id\\$[A-Za-z0-9+/=$,.-]+$', maxLength: 512, reason: "must be an '$argon2id$…' hash" }),
        ipv6: Type.Boolean(),
        suspended: Type.Boolean(),
        /** 'admin' or a reseller; the target keeps it only when it has a reseller of that name with room, else the admin owns the account */
        owner: Type.String({ format: 'fp-username' }),
        /** the account is itself a reseller (its own accounts are not part of the bundle) */
        reseller: Type.Union([Type.Null(), Type.Object({ maxAccounts: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]) }, strict)]),
      },
      strict,
    ),
    /** the target uses its plan of that name as it is, or creates it with these quotas */
    plan: Type.Object(
      {
        name: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$', reason: 'must be a plan name (a lower-case letter, then a-z, 0-9, _ and -, at most 32)' }),
        diskMb: Type.Integer({ minimum: 0 }),
        mailboxes: Type.Integer({ minimum: 0 }),
        domains: Type.Integer({ minimum: 0 }),
      },
      strict,
    ),
    /** alias of one of the target's mail children, or 'local' (absent: the target's own node) */
    mailNode: Type.Optional(Type.String({ format: 'fp-alias' })),
    mailboxes: Type.Array(
      Type.Object(
        {
          address: Type.String({ format: 'fp-email' }),
          passwordHash: Type.String({ pattern: PASSWORD_HASH_PATTERN.source, reason: "must be a '{SHA512-CRYPT}$6$...' hash" }),
          quotaMb: Type.Integer({ minimum: 0 }),
        },
        strict,
      ),
      { maxItems: 10_000 },
    ),
    forwarders: Type.Array(Type.Object({ source: Type.String({ format: 'fp-email' }), destinations: Type.Array(Type.String({ format: 'fp-email' }), { minItems: 1, maxItems: 50 }) }, strict), { maxItems: 10_000 }),
    pipeForwarders: Type.Array(Type.Object({ source: Type.String({ format: 'fp-email' }), command: Type.String({ format: 'fp-path' }) }, strict), { maxItems: 1000 }),
    /** the site's own choices (absent: the defaults) */
    site: Type.Optional(Type.Object({ httpsRedirect: Type.Boolean() }, strict)),
    /**
     * The account's issued certificate with its key (absent: only a self-signed placeholder, which
     * the target makes itself). The target serves it from the import on and renews it when due.
     */
    certificate: Type.Optional(
      Type.Object(
        {
          names: Type.Array(Type.String({ format: 'fp-domain' }), { minItems: 1, maxItems: 100 }),
          certPem: Type.String({ pattern: '^-----BEGIN CERTIFICATE-----', maxLength: 65_536, reason: 'must be a PEM certificate chain' }),
          keyPem: Type.String({ pattern: '^-----BEGIN [A-Z ]*PRIVATE KEY-----', maxLength: 16_384, reason: 'must be a PEM private key' }),
          issuer: Type.String({ maxLength: 1024 }),
          notBefore: Type.Integer({ minimum: 0 }),
          notAfter: Type.Integer({ minimum: 0 }),
          renewAt: Type.Integer({ minimum: 0 }),
        },
        strict,
      ),
    ),
    /**
     * The account's MariaDB databases (created empty by the import; their data follows as SQL
     * streams) and users with their mysql_native_password hashes, so every password stays as it was.
     */
    databases: Type.Optional(
      Type.Object(
        {
          names: Type.Array(DatabaseName, { minItems: 1, maxItems: 1000 }),
          users: Type.Array(
            Type.Object({ name: DatabaseName, passwordHash: Type.String({ pattern: NATIVE_PASSWORD_HASH, reason: "must be a mysql_native_password hash ('*' and 40 hex digits)" }), databases: Type.Array(DatabaseName, { maxItems: 1000 }) }, strict),
            { maxItems: 1000 },
          ),
        },
        strict,
      ),
    ),
    /** the records the account's users added to its zone (the managed ones are derived by the target) */
    dnsRecords: Type.Array(ZoneRecordSchema, { maxItems: 10_000 }),
  },
  strict,
);
export type TransferBundle = Static<typeof TransferBundle>;

/** GET /api/transfers/check: what an import of that account would meet on this parent. */
export const TransferCheckQuery = Type.Object(
  {
    username: Type.String({ format: 'fp-username' }),
    domain: Type.String({ format: 'fp-domain' }),
    mailNode: Type.Optional(Type.String({ format: 'fp-alias' })),
    /** the account has databases: the target needs a ready node with the database role */
    databases: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type TransferCheckQuery = Static<typeof TransferCheckQuery>;

export const TransferCheckAnswer = Type.Object({
  /** this parent's name */
  parent: Type.String(),
  /** the node that would serve the account's mail, and its IPv4 address */
  mailNode: Type.String(),
  mailAddress: Type.String(),
});
export type TransferCheckAnswer = Static<typeof TransferCheckAnswer>;

/** The answer to an import: where each workload landed and who owns the account. */
export const ImportAnswer = Type.Object({
  username: Type.String(),
  owner: Type.String(),
  plan: Type.String(),
  mailNode: Type.String(),
  mailAddress: Type.String(),
  placements: Type.Array(Type.Object({ workload: Type.String(), node: Type.String(), address: Type.String() })),
});
export type ImportAnswer = Static<typeof ImportAnswer>;

/** GET /api/transfers/imports/:username/mail-target: what the source's mail node syncs to (admin only). */
export const MailTargetAnswer = Type.Object({ address: Type.String(), doveadmPassword: Type.String() });
export type MailTargetAnswer = Static<typeof MailTargetAnswer>;

/** GET /api/transfers/imports/:username/web-target: the node serving the account's site, which the source's web node forwards to meanwhile. */
export const WebTargetAnswer = Type.Object({ address: Type.String() });
export type WebTargetAnswer = Static<typeof WebTargetAnswer>;

export const DigestAnswer = Type.Object({ messages: Type.Integer(), guids: Type.Array(Type.String()) });

/** GET /api/transfers/imports/:username/databases/:name/digest: the target copy's tables, row counts and checksums. */
export const DatabaseDigestAnswer = Type.Object({ tables: Type.Array(Type.Object({ name: Type.String(), rows: Type.Integer(), checksum: Type.Union([Type.String(), Type.Null()]) })) });
