/**
 * What the parent's routes can reach: its services, one per concept. A route reads the
 * principal, calls one service and returns; rules live in the services.
 */
import type { FastifyRequest } from 'fastify';
import type { Store, StoreDialect } from '../store/database.ts';
import type { AuthService } from '../auth/auth.service.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import type { CertificateAuthority } from '../transport/ca.ts';
import type { Principal, PrincipalRole } from '../auth/principal.ts';
import type { AccountServices } from '../accounts/accounts.module.ts';
import { ForbiddenError, UnauthenticatedError } from '../core/errors.ts';

/** accounts, plans, resellers, workloads (the registry workload services join) and passwords come from AccountServices. */
export interface ParentContext extends AccountServices {
  db: Store;
  dialect: StoreDialect;
  dataDir: string;
  ca: CertificateAuthority;
  auth: AuthService;
  nodes: NodesService;
  connections: NodeConnections;
  /** the durable job engine (src/jobs), attached by its service module */
  jobs?: import('../jobs/job-engine.ts').JobEngine;
  /** Run when the parent stops (timers, pools). */
  onClose: (() => Promise<void> | void)[];
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthenticatedError();
  return request.principal;
}

/** Refuses unless the caller holds one of the roles. */
export function requireRole(request: FastifyRequest, ...roles: PrincipalRole[]): Principal {
  const principal = principalOf(request);
  if (!roles.includes(principal.role)) {
    throw new ForbiddenError(`this needs the ${roles.join(' or ')} role; you are logged in as ${principal.role} '${principal.username}'`);
  }
  return principal;
}
