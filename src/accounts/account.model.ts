/**
 * Accounts, plans and who may touch which account. Pure rules, no I/O.
 *
 * Ownership follows cPanel/WHM: every account is owned by the admin or by one reseller; a reseller
 * is itself an account whose login was granted reseller privileges. An account's own user sees and
 * uses its account; its owner (and the admin) also administers it: plan, suspension, termination.
 */
import { ValidationError } from '../core/errors.ts';
import type { Principal } from '../auth/principal.ts';

export const WORKLOADS = ['mail', 'web', 'dns'] as const;
export type Workload = (typeof WORKLOADS)[number];

export const ADMIN_OWNER = 'admin';

export interface Plan {
  id: number;
  name: string;
  diskMb: number;
  mailboxes: number;
  domains: number;
  isDefault: boolean;
}

/** An account as the services (and the workload services) see it. */
export interface AccountRecord {
  id: number;
  username: string;
  domain: string;
  plan: Plan;
  /** 'admin' or the reseller's user name */
  owner: string;
  ipv6: boolean;
  suspended: boolean;
  /** nodes.id of the node holding the mail when it is not the parent's own node; null = the parent */
  mailNodeId: number | null;
  createdAt: number;
}

export interface PlacementView {
  workload: Workload;
  node: string;
}

export interface AccountView {
  username: string;
  domain: string;
  plan: string;
  owner: string;
  ipv6: boolean;
  suspended: boolean;
  reseller: boolean;
  /** alias of the mail child, or null when the mail is at the parent */
  mailNode: string | null;
  placements: PlacementView[];
  createdAt: string;
}

/**
 * 'user': the account's own user, its owner, the admin (reading it, changing its password, its mail);
 * 'owner': only its owner and the admin (plan, IPv6, suspension, termination).
 */
export type AccountAccess = 'user' | 'owner';

export function mayAccess(principal: Principal, account: Pick<AccountRecord, 'username' | 'owner'>, access: AccountAccess): boolean {
  if (principal.role === 'admin') return true;
  if (principal.role === 'reseller' && account.owner === principal.username) return true;
  return access === 'user' && account.username === principal.username;
}

const PLAN_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export function checkPlanName(value: string): string | null {
  return PLAN_NAME.test(value) ? null : 'must start with a lower-case letter and hold only a-z, 0-9, _ and -, at most 32 characters';
}

const QUOTA_MAX = 10_000_000;

export function parseQuota(field: string, value: unknown): number {
  const number = typeof value === 'string' && /^[0-9]{1,8}$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0 || number > QUOTA_MAX) {
    throw new ValidationError(field, `must be a whole number from 0 to ${QUOTA_MAX}`);
  }
  return number;
}
