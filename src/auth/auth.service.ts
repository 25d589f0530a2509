/**
 * Logins at the parent (the only place users log in): argon2id password hashes, sessions and
 * API tokens as random bearer tokens of which only a SHA-256 is stored.
 */
import { hash, verify } from '@node-rs/argon2';
import { randomBytes, createHash } from 'node:crypto';
import type { AuthRepository } from './auth.repository.ts';
import { ConflictError, ForbiddenError, UnauthenticatedError } from '../core/errors.ts';
import type { Principal, PrincipalRole } from './principal.ts';

const SESSION_TTL_MS = 12 * 3600_000;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export class AuthService {
  constructor(private readonly repo: AuthRepository) {}

  static hashPassword(password: string): Promise<string> {
    return hash(password, { algorithm: 2 /* Argon2id */ });
  }

  async createLogin(username: string, role: PrincipalRole, password: string, owner: string | null): Promise<void> {
    await this.createLoginWithHash(username, role, await AuthService.hashPassword(password), owner);
  }

  /** The slow half of createLogin (argon2id), for a caller that computes it before taking a lock. */
  hashNewPassword(password: string): Promise<string> {
    return AuthService.hashPassword(password);
  }

  async createLoginWithHash(username: string, role: PrincipalRole, passwordHash: string, owner: string | null): Promise<void> {
    if (await this.repo.loginExists(username)) throw new ConflictError(`a login named '${username}' already exists`);
    await this.repo.insertLogin({ username, role, passwordHash, owner }, Date.now());
  }

  async setPassword(username: string, password: string): Promise<void> {
    await this.repo.setPasswordHash(username, await AuthService.hashPassword(password));
  }

  async setRole(username: string, role: PrincipalRole): Promise<void> {
    await this.repo.setRole(username, role);
  }

  async setOwner(username: string, owner: string | null): Promise<void> {
    await this.repo.setOwner(username, owner);
  }

  /** A suspended login keeps its password but can neither log in nor use a token it already holds. */
  async setSuspended(username: string, suspended: boolean): Promise<void> {
    await this.repo.setSuspended(username, suspended);
  }

  async removeLogin(username: string): Promise<void> {
    await this.repo.removeLogin(username);
  }

  /** Makes sure the admin login exists; returns the password when one was generated. */
  async ensureAdmin(password?: string): Promise<string | null> {
    if (await this.repo.loginExists('admin')) {
      if (password) await this.setPassword('admin', password);
      return null;
    }
    const chosen = password ?? randomBytes(12).toString('base64url');
    await this.createLogin('admin', 'admin', chosen, null);
    return chosen;
  }

  /** Checks a password and issues a session token. Every failure reads the same to the caller. */
  async login(username: string, password: string, ttlMs = SESSION_TTL_MS, label = 'session'): Promise<{ token: string; expiresAt: string | null; principal: Principal }> {
    const user = await this.repo.login(username);
    const ok = user ? await verify(user.passwordHash, password) : false;
    if (!user || !ok) throw new UnauthenticatedError('wrong user name or password');
    // Said only after the password matched, so the refusal tells nothing to someone guessing.
    if (user.suspended) throw new ForbiddenError(`the account '${user.username}' is suspended; ask its provider`);
    return { ...(await this.issueToken(user.username, label, ttlMs)), principal: { username: user.username, role: user.role } };
  }

  async issueToken(username: string, label: string, ttlMs: number | null): Promise<{ token: string; expiresAt: string | null }> {
    const token = `fp_${randomBytes(24).toString('base64url')}`;
    const expiresAt = ttlMs === null ? null : Date.now() + ttlMs;
    await this.repo.insertToken({ tokenHash: sha256(token), username, label, expiresAt }, Date.now());
    return { token, expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString() };
  }

  async revokeToken(token: string): Promise<void> {
    await this.repo.removeToken(sha256(token));
  }

  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw new UnauthenticatedError('log in first: send Authorization: Bearer <token> (POST /api/session gives one)');
    const row = await this.repo.tokenOwner(sha256(token));
    if (!row) throw new UnauthenticatedError('the token is not valid (unknown or revoked)');
    if (row.expiresAt !== null && row.expiresAt < Date.now()) throw new UnauthenticatedError('the token has expired; log in again');
    if (row.suspended) throw new ForbiddenError(`the account '${row.username}' is suspended; ask its provider`);
    return { username: row.username, role: row.role };
  }
}
