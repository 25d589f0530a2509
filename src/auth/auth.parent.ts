/** How logins plug into the parent: the auth service over its repository, and the session routes. */
import type { Store } from '../store/database.ts';
import { AuthRepository } from './auth.repository.ts';
import { AuthService } from './auth.service.ts';

export { registerAuthRoutes } from './auth.routes.ts';

export function buildAuth(deps: { db: Store }): AuthService {
  return new AuthService(new AuthRepository(deps.db));
}
