/**
 * The login guards every parent route uses: who is calling (set by the parent's onRequest hook
 * from the bearer token) and whether that caller holds a role.
 */
import type { FastifyRequest } from 'fastify';
import type { Principal, PrincipalRole } from './principal.ts';
import { ForbiddenError, UnauthenticatedError } from '../core/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7).trim() || undefined : undefined;
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
