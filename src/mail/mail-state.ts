/**
 * The desired mail state of one whole node, as the parent sends it and the agent keeps it. Every
 * value ends up inside a Dovecot passwd-file or a Postfix lookup table, so the whole state is
 * checked with the strict grammars before a single file is written.
 */
import { encrypt } from 'unixcrypt';
import { ValidationError } from '../core/errors.ts';
import {
  assertValid,
  checkDomain,
  checkEmail,
  checkIpv4,
  checkNetwork,
  checkSafePath,
  checkUsername,
  type Checker,
} from '../core/grammar.ts';

export interface MailDomain {
  domain: string;
  /** The hosting account that owns the domain. */
  account: string;
  /** Logins of every mailbox of a suspended domain are refused; mail is still accepted. */
  suspended: boolean;
  /** SMTP reroute: this node relays the domain's mail to that node address. */
  relayTo?: string;
  /** IMAP/POP3 logins of this domain's mailboxes are proxied to that node address. */
  proxyTo?: string;
  /**
   * Mail for the domain is accepted but kept in Postfix's hold queue, and delivered when the hold
   * is lifted: while another node's copy of the mailboxes is synced in, a delivery racing the
   * sync could be stored twice.
   */
  holdDelivery?: boolean;
}

export interface MailMailbox {
  address: string;
  /** '{SHA512-CRYPT}$6$...', see hashMailPassword. */
  passwordHash: string;
  /** 0 means no limit. */
  quotaMb: number;
  /** A suspended mailbox still receives mail but cannot log in. */
  suspended: boolean;
}

export interface MailForwarder {
  source: string;
  destinations: string[];
}

/** '|/path/to/program' forwarders, run by a Postfix pipe transport as the mail user. */
export interface MailPipeForwarder {
  source: string;
  command: string;
}

export interface MailState {
  domains: MailDomain[];
  mailboxes: MailMailbox[];
  forwarders: MailForwarder[];
  pipeForwarders: MailPipeForwarder[];
  /** Dovecot login_trusted_networks: a child lists its parent's address so proxied logins keep the client IP. */
  trustedNetworks: string[];
}

export const EMPTY_MAIL_STATE: MailState = { domains: [], mailboxes: [], forwarders: [], pipeForwarders: [], trustedNetworks: [] };

/** Generous, but keeps a typo (quota in bytes) from becoming an effectively unlimited mailbox silently. */
export const MAX_QUOTA_MB = 1024 * 1024;

export const PASSWORD_HASH_PATTERN = /^\{SHA512-CRYPT\}\$6\$[A-Za-z0-9./$]+$/;

/** A hash Dovecot's passwd-file accepts as is; default rounds keep the salt free of 'rounds=' (outside the grammar). */
export function hashMailPassword(plain: string): string {
  if (plain.length === 0) throw new ValidationError('password', 'must not be empty');
  return `{SHA512-CRYPT}${encrypt(plain)}`;
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

export function localPartOf(address: string): string {
  return address.slice(0, address.lastIndexOf('@'));
}

type Json = Record<string, unknown>;

function asObject(field: string, value: unknown, allowedKeys: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(field, 'must be an object');
  // Unknown keys are refused so that a misspelt field (suspend instead of suspended) is not silently ignored.
  for (const key of Object.keys(value)) {
    if (!allowedKeys.includes(key)) throw new ValidationError(`${field}.${key}`, 'is not a known field');
  }
  return value as Json;
}

function asArray(field: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new ValidationError(field, 'must be an array');
  return value;
}

function asBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(field, 'must be true or false');
  return value;
}

function optional(field: string, value: unknown, checker: Checker): string | undefined {
  return value === undefined ? undefined : assertValid(field, value, checker);
}

function requireUnique(field: string, seen: Set<string>, value: string): void {
  if (seen.has(value)) throw new ValidationError(field, `'${value}' is listed twice`);
  seen.add(value);
}

function requireDeclaredDomain(field: string, domains: Set<string>, address: string): void {
  if (!domains.has(domainOf(address))) throw new ValidationError(field, `domain '${domainOf(address)}' is not in domains`);
}

/**
 * Returns a fresh, fully checked copy of `input` (extra keys refused, arrays copied), or throws a
 * ValidationError naming the first bad field, e.g. `mailboxes[2].address`.
 */
export function validateMailState(input: unknown): MailState {
  const root = asObject('state', input, ['domains', 'mailboxes', 'forwarders', 'pipeForwarders', 'trustedNetworks']);

  const domainNames = new Set<string>();
  const domains = asArray('domains', root.domains).map((raw, index): MailDomain => {
    const field = `domains[${index}]`;
    const item = asObject(field, raw, ['domain', 'account', 'suspended', 'relayTo', 'proxyTo', 'holdDelivery']);
    const domain = assertValid(`${field}.domain`, item.domain, checkDomain);
    requireUnique(`${field}.domain`, domainNames, domain);
    const relayTo = optional(`${field}.relayTo`, item.relayTo, checkIpv4);
    const proxyTo = optional(`${field}.proxyTo`, item.proxyTo, checkIpv4);
    return {
      domain,
      account: assertValid(`${field}.account`, item.account, checkUsername),
      suspended: asBoolean(`${field}.suspended`, item.suspended),
      ...(relayTo !== undefined ? { relayTo } : {}),
      ...(proxyTo !== undefined ? { proxyTo } : {}),
      ...(item.holdDelivery !== undefined && asBoolean(`${field}.holdDelivery`, item.holdDelivery) ? { holdDelivery: true } : {}),
    };
  });

  const mailboxAddresses = new Set<string>();
  const mailboxes = asArray('mailboxes', root.mailboxes).map((raw, index): MailMailbox => {
    const field = `mailboxes[${index}]`;
    const item = asObject(field, raw, ['address', 'passwordHash', 'quotaMb', 'suspended']);
    const address = assertValid(`${field}.address`, item.address, checkEmail);
    requireDeclaredDomain(`${field}.address`, domainNames, address);
    requireUnique(`${field}.address`, mailboxAddresses, address);
    const passwordHash = item.passwordHash;
    if (typeof passwordHash !== 'string' || !PASSWORD_HASH_PATTERN.test(passwordHash)) {
      throw new ValidationError(`${field}.passwordHash`, "must be a '{SHA512-CRYPT}$6$...' hash");
    }
    const quotaMb = item.quotaMb;
    if (typeof quotaMb !== 'number' || !Number.isInteger(quotaMb) || quotaMb < 0 || quotaMb > MAX_QUOTA_MB) {
      throw new ValidationError(`${field}.quotaMb`, `must be a whole number from 0 (no limit) to ${MAX_QUOTA_MB}`);
    }
    return { address, passwordHash, quotaMb, suspended: asBoolean(`${field}.suspended`, item.suspended) };
  });

  const forwarderSources = new Set<string>();
  const forwarders = asArray('forwarders', root.forwarders).map((raw, index): MailForwarder => {
    const field = `forwarders[${index}]`;
    const item = asObject(field, raw, ['source', 'destinations']);
    const source = assertValid(`${field}.source`, item.source, checkEmail);
    requireDeclaredDomain(`${field}.source`, domainNames, source);
    requireUnique(`${field}.source`, forwarderSources, source);
    const destinations = asArray(`${field}.destinations`, item.destinations).map((destination, d) =>
      assertValid(`${field}.destinations[${d}]`, destination, checkEmail),
    );
    if (destinations.length === 0) throw new ValidationError(`${field}.destinations`, 'must name at least one address');
    return { source, destinations };
  });

  const pipeKeys = new Set<string>();
  const pipeForwarders = asArray('pipeForwarders', root.pipeForwarders).map((raw, index): MailPipeForwarder => {
    const field = `pipeForwarders[${index}]`;
    const item = asObject(field, raw, ['source', 'command']);
    const source = assertValid(`${field}.source`, item.source, checkEmail);
    requireDeclaredDomain(`${field}.source`, domainNames, source);
    const command = assertValid(`${field}.command`, item.command, checkSafePath);
    requireUnique(field, pipeKeys, `${source} ${command}`);
    return { source, command };
  });

  const trustedNetworks = asArray('trustedNetworks', root.trustedNetworks).map((network, index) =>
    assertValid(`trustedNetworks[${index}]`, network, checkNetwork),
  );

  return { domains, mailboxes, forwarders, pipeForwarders, trustedNetworks };
}
