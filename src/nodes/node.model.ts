/**
 * Nodes, their server profiles and roles, and the statuses a node goes through. Pure rules, no I/O.
 */
import { ConflictError, ValidationError } from '../core/errors.ts';
import { ROLES, type Role } from '../protocol/roles.ts';
import type { ServiceStatus } from '../protocol/link-token.ts';

export const PROFILES = ['STANDARD', 'MAIL', 'WEB', 'DNS', 'DATABASE'] as const;
export type Profile = (typeof PROFILES)[number];

/** The roles each server profile may serve. STANDARD serves everything. */
export const PROFILE_ROLES: Record<Profile, readonly Role[]> = {
  STANDARD: ROLES,
  MAIL: ['mail'],
  WEB: ['web'],
  DNS: ['dns'],
  DATABASE: ['database'],
};

/**
 * installing -> assigning_roles -> software_sync -> data_sync -> ready is the way in;
 * degraded (answering, but some of its services down, restarting or failed), offline (health
 * check failing), disabled (by the admin) and unlinking are the others. A node handed over by
 * another parent waits in adopting (linked, not yet brought up, given no data) until that parent
 * has moved its accounts here; the bring-up then gives it everything at once.
 */
export const NODE_STATUSES = [
  'installing',
  'assigning_roles',
  'software_sync',
  'data_sync',
  'ready',
  'degraded',
  'offline',
  'disabled',
  'unlinking',
  'adopting',
] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export const STATUS_LABELS: Record<NodeStatus, string> = {
  installing: 'installation in progress',
  assigning_roles: 'assigning roles',
  software_sync: 'software synchronisation',
  data_sync: 'data synchronisation',
  ready: 'ready',
  degraded: 'degraded',
  offline: 'offline',
  disabled: 'disabled',
  unlinking: 'unlinking',
  adopting: 'adopted from another parent, waiting for its accounts',
};

/**
 * Whether changes are pushed to the node as they happen. An adopted node is not: its daemons keep
 * serving what its former parent gave them until its bring-up gives it this parent's whole state
 * at once (a push of the first of its accounts to arrive would drop the others meanwhile).
 */
export function takesPushes(status: string): boolean {
  return status !== 'adopting';
}

/** The prefix of a node's status detail when its SSH installation stopped at a step. */
export const INSTALL_FAILED_PREFIX = 'failed at step';


export function parseProfile(value: string, field = 'profile'): Profile {
  const upper = value.toUpperCase();
  if (!(PROFILES as readonly string[]).includes(upper)) {
    throw new ValidationError(field, `must be one of ${PROFILES.join(', ')}`);
  }
  return upper as Profile;
}

export function parseRoles(values: readonly string[], field = 'roles'): Role[] {
  const roles = new Set<Role>();
  for (const value of values) {
    if (!(ROLES as readonly string[]).includes(value)) throw new ValidationError(field, `'${value}' is not one of ${ROLES.join(', ')}`);
    roles.add(value as Role);
  }
  return [...roles].sort();
}

/**
 * Picks the profile and roles of a node from what the admin gave: roles alone choose the
 * narrowest profile that serves them; a profile alone enables all of its roles.
 */
export function resolveProfileAndRoles(profile: Profile | undefined, roles: Role[] | undefined): { profile: Profile; roles: Role[] } {
  if (profile && roles && roles.length > 0) {
    const allowed = PROFILE_ROLES[profile];
    const outside = roles.filter((r) => !allowed.includes(r));
    if (outside.length > 0) throw new ValidationError('roles', `profile ${profile} cannot serve ${outside.join(', ')}`);
    return { profile, roles };
  }
  if (profile) return { profile, roles: [...PROFILE_ROLES[profile]] };
  if (roles && roles.length === 1) {
    const single = PROFILES.find((p) => p !== 'STANDARD' && PROFILE_ROLES[p].length === 1 && PROFILE_ROLES[p][0] === roles[0]);
    return { profile: single ?? 'STANDARD', roles };
  }
  if (roles && roles.length > 1) return { profile: 'STANDARD', roles };
  return { profile: 'STANDARD', roles: [...ROLES] };
}

/** The parent's own node is always STANDARD (cPanel: a parent cannot use any other profile). */
export function assertProfileAllowed(isLocal: boolean, profile: Profile): void {
  if (isLocal && profile !== 'STANDARD') {
    throw new ConflictError(`the parent's own node must keep the STANDARD profile; ${profile} is only for child nodes`);
  }
}

/** A node that serves its workloads: ready, or degraded (some services down; the others serve, pushes still reach it). */
export function isServing(status: string): boolean {
  return status === 'ready' || status === 'degraded';
}

/** A daemon on a node as its agent's watchdog reports it: the agent's health answer, as the parent keeps it. */
export type ServiceView = ServiceStatus;

/** The services that are not serving, as `node show` names them ('dovecot restarting: …'). Empty: the node is healthy. */
export function servicesDown(services: readonly ServiceView[]): string[] {
  return services
    .filter((s) => s.state !== 'idle' && ((s.state ?? (s.running ? 'running' : 'stopped')) !== 'running' || !s.running))
    .map((s) => {
      const state = s.state && s.state !== 'running' ? s.state : 'down';
      return `${s.name} ${state}${s.problem ? `: ${s.problem}` : ''}`;
    });
}

/** What a successful health check makes of a serving node: ready when every service runs, degraded otherwise. */
export function servingStatus(services: readonly ServiceView[]): { status: 'ready' | 'degraded'; detail: string | null } {
  const down = servicesDown(services);
  return down.length === 0 ? { status: 'ready', detail: null } : { status: 'degraded', detail: down.join('; ') };
}

export interface NodeView {
  alias: string;
  host: string;
  agentPort: number;
  profile: Profile;
  roles: Role[];
  status: NodeStatus;
  statusLabel: string;
  statusDetail: string | null;
  local: boolean;
  agentVersion: string | null;
  services: ServiceView[];
  lastCheckAt: string | null;
  tlsVerified: boolean;
}
