/**
 * Password strength policy: which minimum zxcvbn score applies to which kind of password, and
 * whose setting wins. Pure rules, no I/O.
 *
 * Following cPanel's linked nodes: every node holds its own settings, the parent's apply by
 * default, and a mail child's mail and mailing-list settings apply to the accounts whose mail it
 * holds. Panel (account) and FTP passwords always follow the parent, since those services stay there.
 */
import { ValidationError } from '../core/errors.ts';

export const PASSWORD_KINDS = ['account', 'mail', 'mailinglist', 'ftp', 'database'] as const;
export type PasswordKind = (typeof PASSWORD_KINDS)[number];

/** The kinds a node with mail decides itself for the accounts whose mail it holds. */
export const MAIL_NODE_KINDS: readonly PasswordKind[] = ['mail', 'mailinglist'];

export const MIN_SCORE = 0;
export const MAX_SCORE = 4;

/** zxcvbn's 3 is "safely unguessable"; a fresh cluster starts there rather than at "anything goes". */
export const DEFAULT_MIN_SCORE: Record<PasswordKind, number> = { account: 3, mail: 3, mailinglist: 3, ftp: 3, database: 3 };

/** The node id the parent's own settings are kept under. */
export const PARENT_SCOPE = 0;

export function parsePasswordKind(value: string, field = 'kind'): PasswordKind {
  if (!(PASSWORD_KINDS as readonly string[]).includes(value)) throw new ValidationError(field, `must be one of ${PASSWORD_KINDS.join(', ')}`);
  return value as PasswordKind;
}

export function parseMinScore(value: unknown, field = 'minScore'): number {
  const score = typeof value === 'string' && /^[0-9]$/.test(value) ? Number(value) : value;
  if (typeof score !== 'number' || !Number.isInteger(score) || score < MIN_SCORE || score > MAX_SCORE) {
    throw new ValidationError(field, `must be a whole number from ${MIN_SCORE} to ${MAX_SCORE}`);
  }
  return score;
}

/** Settings as stored: node id (PARENT_SCOPE for the parent) -> kind -> minimum score. */
export type PolicySettings = ReadonlyMap<number, Partial<Record<PasswordKind, number>>>;

export interface EffectivePolicy {
  kind: PasswordKind;
  minScore: number;
  /** whose setting decided: the parent's, a mail node's, or the built-in default */
  source: 'parent' | 'node' | 'default';
  nodeId: number | null;
}

/**
 * The minimum that applies to a password of `kind` for an account whose mail lives on
 * `mailNodeId` (null, or the parent's own node, when the mail is at the parent).
 */
export function resolvePolicy(settings: PolicySettings, kind: PasswordKind, mailNodeId: number | null): EffectivePolicy {
  if (mailNodeId !== null && mailNodeId !== PARENT_SCOPE && MAIL_NODE_KINDS.includes(kind)) {
    const own = settings.get(mailNodeId)?.[kind];
    if (own !== undefined) return { kind, minScore: own, source: 'node', nodeId: mailNodeId };
  }
  const parent = settings.get(PARENT_SCOPE)?.[kind];
  if (parent !== undefined) return { kind, minScore: parent, source: 'parent', nodeId: null };
  return { kind, minScore: DEFAULT_MIN_SCORE[kind], source: 'default', nodeId: null };
}
