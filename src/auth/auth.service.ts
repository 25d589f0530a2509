/**
 * Logins at the parent (the only place users log in): argon2id password hashes, sessions and
 * API tokens as random bearer tokens of which only a SHA-256 is stored.
 */
import { hash, verify } from '@node-rs/argon2';
import { randomBytes, createHash } from 'node:crypto';
import type { Store } from '../store/database.ts';
import { UnauthenticatedError, ConflictError, ForbiddenError } from '../core/errors.ts';
import type { Principal, PrincipalRole } from './principal.ts';

const SESSION_TTL_MS = 12 * 3600_000;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export class AuthService {
  constructor(private readonly db: Store) {}

  static hashPassword(password: string): Promise<string> {
    return hash(password, { algorithm: 2 /* Argon2id */ });
  }

  async createLogin(username: string, role: PrincipalRole, password: string, owner: string | null): Promise<void> {
    const existing = await this.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst();
    if (existing) throw new ConflictError(`a login named '${username}' already exists`);
    await this.db
      .insertInto('users')
      .values({ username, role, password_hash: await AuthService.hashPassword(password), owner, created_at: Date.now() })
      .execute();
  }

  async setPassword(username: string, password: string): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: await AuthService.hashPassword(password) }).where('username', '=', username).execute();
  }

  async setRole(username: string, role: PrincipalRole): Promise<void> {
    await this.db.updateTable('users').set({ role }).where('username', '=', username).execute();
  }

  async setOwner(username: string, owner: string | null): Promise<void> {
    await this.db.updateTable('users').set({ owner }).where('username', '=', username).execute();
  }

  /** A suspended login keeps its password but can neither log in nor use a token it already holds. */
  async setSuspended(username: string, suspended: boolean): Promise<void> {
    await this.db.updateTable('users').set({ suspended: suspended ? 1 : 0 }).where('username', '=', username).execute();
  }

  async removeLogin(username: string): Promise<void> {
    await this.db.deleteFrom('api_tokens').where('username', '=', username).execute();
    await this.db.deleteFrom('users').where('username', '=', username).execute();
  }

  /** Makes sure the admin login exists; returns the password when one was generated. */
  async ensureAdmin(password?: string): Promise<string | null> {
    const admin = await this.db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirst();
    if (admin) {
      if (password) await this.setPassword('admin', password);
      return null;
    }
    const chosen = password ?? randomBytes(12).toString('base64url');
    await this.createLogin('admin', 'admin', chosen, null);
    return chosen;
  }

  /** Checks a password and issues a session token. Every failure reads the same to the caller. */
  async login(username: string, password: string, ttlMs = SESSION_TTL_MS, label = 'session'): Promise<{ token: string; expiresAt: string | null; principal: Principal }> {
    const user = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    const ok = user ? await verify(user.password_hash, password) : false;
    if (!user || !ok) throw new UnauthenticatedError('wrong user name or password');
    // Said only after the password matched, so the refusal tells nothing to someone guessing.
    if (user.suspended === 1) throw new ForbiddenError(`the account '${user.username}' is suspended; ask its provider`);
    return { ...(await this.issueToken(user.username, label, ttlMs)), principal: { username: user.username, role: user.role as PrincipalRole } };
  }

  async issueToken(username: string, label: string, ttlMs: number | null): Promise<{ token: string; expiresAt: string | null }> {
    const token = `fp_${randomBytes(24).toString('base64url')}`;
    const expiresAt = ttlMs === null ? null : Date.now() + ttlMs;
    await this.db
      .insertInto('api_tokens')
      .values({ token_hash: sha256(token), username, label, expires_at: expiresAt, created_at: Date.now() })
      .execute();
    return { token, expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() };
  }

  async revokeToken(token: string): Promise<void> {
    await this.db.deleteFrom('api_tokens').where('token_hash', '=', sha256(token)).execute();
  }

  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw new UnauthenticatedError('log in first: send Authorization: Bearer <token> (POST /api/session gives one)');
    const row = await this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.username', 'api_tokens.username')
      .select(['users.username', 'users.role', 'users.suspended', 'api_tokens.expires_at'])
      .where('api_tokens.token_hash', '=', sha256(token))
      .executeTakeFirst();
    if (!row) throw new UnauthenticatedError('the token is not valid (unknown or revoked)');
    if (row.expires_at !== null && row.expires_at < Date.now()) throw new UnauthenticatedError('the token has expired; log in again');
    if (row.suspended === 1) throw new ForbiddenError(`the account '${row.username}' is suspended; ask its provider`);
    return { username: row.username, role: row.role as PrincipalRole };
  }
}
