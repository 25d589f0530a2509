/**
 * The desired mail state of one whole node, as the parent sends it and the agent keeps it. Every
 * value ends up inside a Dovecot passwd-file or a Postfix lookup table, so the schema holds the
 * strict grammars, and validateMailState adds the rules that span items before a single file is
 * written.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ValidationError } from '../core/errors.ts';
import { checkSchema } from './schema-check.ts';
import { StateBase, collectionChangeSchema, type StateShape } from './keyed-state.ts';

/** Generous, but keeps a typo (quota in bytes) from becoming an effectively unlimited mailbox silently. */
export const MAX_QUOTA_MB = 1024 * 1024;

export const PASSWORD_HASH_PATTERN = /^\{SHA512-CRYPT\}\$6\$[A-Za-z0-9./$]+$/;

const strict = { additionalProperties: false } as const;

export const MailDomain = Type.Object(
  {
    domain: Type.String({ format: 'fp-domain' }),
    /** The hosting account that owns the domain. */
    account: Type.String({ format: 'fp-username' }),
    /** Logins of every mailbox of a suspended domain are refused; mail is still accepted. */
    suspended: Type.Boolean(),
    /** SMTP reroute: this node relays the domain's mail to that node address. */
    relayTo: Type.Optional(Type.String({ format: 'fp-ipv4' })),
    /** IMAP/POP3 logins of this domain's mailboxes are proxied to that node address. */
    proxyTo: Type.Optional(Type.String({ format: 'fp-ipv4' })),
    /**
     * Mail for the domain is accepted but kept in Postfix's hold queue, and delivered when the hold
     * is lifted: while another node's copy of the mailboxes is synced in, a delivery racing the
     * sync could be stored twice.
     */
    holdDelivery: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type MailDomain = Static<typeof MailDomain>;

export const MailMailbox = Type.Object(
  {
    address: Type.String({ format: 'fp-email' }),
    /** '{SHA512-CRYPT}$6$...', see hashMailPassword. */
    passwordHash: Type.String({ pattern: PASSWORD_HASH_PATTERN.source, reason: "must be a '{SHA512-CRYPT}$6$...' hash" }),
    /** 0 means no limit. */
    quotaMb: Type.Integer({ minimum: 0, maximum: MAX_QUOTA_MB, reason: `must be a whole number from 0 (no limit) to ${MAX_QUOTA_MB}` }),
    /** A suspended mailbox still receives mail but cannot log in. */
    suspended: Type.Boolean(),
  },
  strict,
);
export type MailMailbox = Static<typeof MailMailbox>;

export const MailForwarder = Type.Object(
  {
    source: Type.String({ format: 'fp-email' }),
    destinations: Type.Array(Type.String({ format: 'fp-email' }), { minItems: 1, reason: 'must name at least one address' }),
  },
  strict,
);
export type MailForwarder = Static<typeof MailForwarder>;

/** '|/path/to/program' forwarders, run by a Postfix pipe transport as the mail user. */
export const MailPipeForwarder = Type.Object({ source: Type.String({ format: 'fp-email' }), command: Type.String({ format: 'fp-path' }) }, strict);
export type MailPipeForwarder = Static<typeof MailPipeForwarder>;

/** PUT /v1/mail/state: the node's whole mail state. */
export const MailState = Type.Object(
  {
    domains: Type.Array(MailDomain),
    mailboxes: Type.Array(MailMailbox),
    forwarders: Type.Array(MailForwarder),
    pipeForwarders: Type.Array(MailPipeForwarder),
    /** Dovecot login_trusted_networks: a child lists its parent's address so proxied logins keep the client IP. */
    trustedNetworks: Type.Array(Type.String({ format: 'fp-network' })),
  },
  strict,
);
export type MailState = Static<typeof MailState>;

export const EMPTY_MAIL_STATE: MailState = { domains: [], mailboxes: [], forwarders: [], pipeForwarders: [], trustedNetworks: [] };

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

function requireUnique(field: string, seen: Set<string>, value: string): void {
  if (seen.has(value)) throw new ValidationError(field, `'${value}' is listed twice`);
  seen.add(value);
}

function requireDeclaredDomain(field: string, domains: Set<string>, address: string): void {
  if (!domains.has(domainOf(address))) throw new ValidationError(field, `domain '${domainOf(address)}' is not in domains`);
}

/** The rules a schema cannot say: nothing listed twice, every address in a domain of the state. */
function checkMailStateRules(state: MailState): void {
  const domains = new Set<string>();
  state.domains.forEach((d, i) => requireUnique(`domains[${i}].domain`, domains, d.domain));
  const mailboxes = new Set<string>();
  state.mailboxes.forEach((m, i) => {
    requireDeclaredDomain(`mailboxes[${i}].address`, domains, m.address);
    requireUnique(`mailboxes[${i}].address`, mailboxes, m.address);
  });
  const sources = new Set<string>();
  state.forwarders.forEach((f, i) => {
    requireDeclaredDomain(`forwarders[${i}].source`, domains, f.source);
    requireUnique(`forwarders[${i}].source`, sources, f.source);
  });
  const pipes = new Set<string>();
  state.pipeForwarders.forEach((p, i) => {
    requireDeclaredDomain(`pipeForwarders[${i}].source`, domains, p.source);
    requireUnique(`pipeForwarders[${i}]`, pipes, `${p.source} ${p.command}`);
  });
}

/**
 * Returns a fresh, fully checked copy of `input` (extra keys refused, arrays copied), or throws a
 * ValidationError naming the first bad field, e.g. `mailboxes[2].address`.
 */
export function validateMailState(input: unknown): MailState {
  const state = checkSchema(MailState, input, { root: 'state' });
  checkMailStateRules(state);
  return {
    domains: state.domains.map(({ domain, account, suspended, relayTo, proxyTo, holdDelivery }) => ({
      domain,
      account,
      suspended,
      ...(relayTo !== undefined ? { relayTo } : {}),
      ...(proxyTo !== undefined ? { proxyTo } : {}),
      ...(holdDelivery === true ? { holdDelivery: true } : {}),
    })),
    mailboxes: state.mailboxes.map(({ address, passwordHash, quotaMb, suspended }) => ({ address, passwordHash, quotaMb, suspended })),
    forwarders: state.forwarders.map(({ source, destinations }) => ({ source, destinations: [...destinations] })),
    pipeForwarders: state.pipeForwarders.map(({ source, command }) => ({ source, command })),
    trustedNetworks: [...state.trustedNetworks],
  };
}

/** POST /v1/mail/kick: end these mailboxes' IMAP and POP3 sessions. */
export const KickRequest = Type.Object({ addresses: Type.Array(Type.String({ format: 'fp-email' }), { maxItems: 100_000 }) }, strict);
export type KickRequest = Static<typeof KickRequest>;

/** POST /v1/mail/mailboxes/:address/sync-to: copy one mailbox to another node's Dovecot. */
export const SyncToRequest = Type.Object(
  {
    targetAddress: Type.String({ format: 'fp-ipv4' }),
    targetDoveadmPassword: Type.String({ minLength: 16, maxLength: 128 }),
    /** false: an incremental pass after a full one (absent: full) */
    full: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type SyncToRequest = Static<typeof SyncToRequest>;

export function localPartOf(address: string): string {
  return address.slice(0, address.lastIndexOf('@'));
}

/** What a node answers to a new mail state: which daemons had to reload. */
export interface MailApplyResult {
  dovecotChanged: boolean;
  postfixChanged: boolean;
}

/** The answer to a whole state or a change: MailApplyResult and the digest of the state the node now holds. */
export interface MailStateApplied extends MailApplyResult {
  digest: string;
}

/** How each collection of a mail state is keyed and written for the digest (keyed-state.ts). */
export const MAIL_STATE_SHAPE: StateShape<MailState> = {
  domains: { key: (d) => d.domain, text: (d) => JSON.stringify([d.domain, d.account, d.suspended, d.relayTo ?? null, d.proxyTo ?? null, d.holdDelivery === true]) },
  mailboxes: { key: (m) => m.address, text: (m) => JSON.stringify([m.address, m.passwordHash, m.quotaMb, m.suspended]) },
  forwarders: { key: (f) => f.source, text: (f) => JSON.stringify([f.source, f.destinations]) },
  pipeForwarders: { key: (p) => p.source, text: (p) => JSON.stringify([p.source, p.command]) },
  trustedNetworks: { key: (network) => network, text: (network) => JSON.stringify(network) },
};

/**
 * PATCH /v1/mail/state: what changed since the state whose digest is `base` (keyed-state.ts):
 * domains by name, mailboxes by address, forwarders by source, trusted networks by themselves.
 * The node applies the whole state that results, checked whole (validateMailState).
 */
export const MailStateChange = Type.Object(
  {
    base: StateBase,
    domains: collectionChangeSchema(MailDomain, Type.String({ format: 'fp-domain' })),
    mailboxes: collectionChangeSchema(MailMailbox, Type.String({ format: 'fp-email' })),
    forwarders: collectionChangeSchema(MailForwarder, Type.String({ format: 'fp-email' })),
    pipeForwarders: collectionChangeSchema(MailPipeForwarder, Type.String({ format: 'fp-email' })),
    trustedNetworks: collectionChangeSchema(Type.String({ format: 'fp-network' }), Type.String({ format: 'fp-network' })),
  },
  strict,
);
export type MailStateChange = Static<typeof MailStateChange>;

/** A mailbox's content as dsync keeps it, so two copies of a mailbox compare equal. */
export interface MailboxDigest {
  messages: number;
  /** Message GUIDs of every folder, sorted. */
  guids: string[];
}

/** A mailbox of a domain that a node holds. */
export interface HeldMailbox {
  address: string;
  /** Messages in every folder, counted from the Maildir files (so a mailbox the node no longer serves is counted too). */
  messages: number;
  /** In the node's applied state (false: only its data is left, e.g. after a move). */
  configured: boolean;
}
