/** All SQL about logins and their API tokens (tokens are stored as SHA-256 digests only). */
import type { Store } from '../store/database.ts';
import type { PrincipalRole } from './principal.ts';

export interface LoginRow {
  username: string;
  role: PrincipalRole;
  passwordHash: string;
  suspended: boolean;
}

export interface TokenOwnerRow {
  username: string;
  role: PrincipalRole;
  suspended: boolean;
  expiresAt: number | null;
}

export class AuthRepository {
  constructor(private readonly db: Store) {}

  async loginExists(username: string): Promise<boolean> {
    return (await this.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst()) !== undefined;
  }

  async login(username: string): Promise<LoginRow | undefined> {
    const row = await this.db.selectFrom('users').select(['username', 'role', 'password_hash', 'suspended']).where('username', '=', username).executeTakeFirst();
    return row && { username: row.username, role: row.role as PrincipalRole, passwordHash: row.password_hash, suspended: row.suspended === 1 };
  }

  async insertLogin(login: { username: string; role: PrincipalRole; passwordHash: string; owner: string | null }, now: number): Promise<void> {
    await this.db.insertInto('users').values({ username: login.username, role: login.role, password_hash: login.passwordHash, owner: login.owner, created_at: now }).execute();
  }

  async setPasswordHash(username: string, passwordHash: string): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: passwordHash }).where('username', '=', username).execute();
  }

  async setRole(username: string, role: PrincipalRole): Promise<void> {
    await this.db.updateTable('users').set({ role }).where('username', '=', username).execute();
  }

  async setOwner(username: string, owner: string | null): Promise<void> {
    await this.db.updateTable('users').set({ owner }).where('username', '=', username).execute();
  }

  async setSuspended(username: string, suspended: boolean): Promise<void> {
    await this.db.updateTable('users').set({ suspended: suspended ? 1 : 0 }).where('username', '=', username).execute();
  }

  /** The login and every token it holds. */
  async removeLogin(username: string): Promise<void> {
    await this.db.deleteFrom('api_tokens').where('username', '=', username).execute();
    await this.db.deleteFrom('users').where('username', '=', username).execute();
  }

  async insertToken(token: { tokenHash: string; username: string; label: string; expiresAt: number | null }, now: number): Promise<void> {
    await this.db.insertInto('api_tokens').values({ token_hash: token.tokenHash, username: token.username, label: token.label, expires_at: token.expiresAt, created_at: now }).execute();
  }

  async removeToken(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('api_tokens').where('token_hash', '=', tokenHash).execute();
  }

  async tokenOwner(tokenHash: string): Promise<TokenOwnerRow | undefined> {
    const row = await this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.username', 'api_tokens.username')
      .select(['users.username', 'users.role', 'users.suspended', 'api_tokens.expires_at'])
      .where('api_tokens.token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row && { username: row.username, role: row.role as PrincipalRole, suspended: row.suspended === 1, expiresAt: row.expires_at };
  }
}
