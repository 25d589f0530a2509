/**
 * Reseller privileges: the admin grants them on an account (which then owns accounts of its own,
 * up to its limit) and withdraws them once the reseller owns none.
 */
import { ConflictError, ForbiddenError, NotFoundError } from '../core/errors.ts';
import { assertValid, checkUsername } from '../core/grammar.ts';
import type { AuthService } from '../auth/auth.service.ts';
import type { Principal } from '../auth/principal.ts';
import { ADMIN_OWNER, parseQuota } from './account.model.ts';
import type { AccountsRepository } from './accounts.repository.ts';

export interface ResellerView {
  username: string;
  /** null = no limit */
  maxAccounts: number | null;
  accounts: number;
  grantedAt: string;
}

export class ResellersService {
  constructor(
    private readonly repo: AccountsRepository,
    private readonly auth: Pick<AuthService, 'setRole'>,
  ) {}

  /** Grants the privileges, or changes the limit of a reseller that has them already. */
  async grant(username: string, maxAccounts: unknown): Promise<ResellerView> {
    assertValid('username', username, checkUsername);
    const limit = maxAccounts === undefined || maxAccounts === null ? null : parseQuota('maxAccounts', maxAccounts);
    const account = await this.repo.byUsername(username);
    if (!account) throw new NotFoundError('account', username);
    // One level of resale, as in WHM: a reseller's customers cannot resell in turn.
    if (account.owner !== ADMIN_OWNER) throw new ConflictError(`account '${username}' is owned by reseller '${account.owner}'; give it to the admin first (account modify ${username} --owner admin)`);
    await this.repo.upsertReseller(username, limit);
    await this.auth.setRole(username, 'reseller');
    return this.view(username);
  }

  async withdraw(username: string): Promise<{ username: string; reseller: false }> {
    assertValid('username', username, checkUsername);
    if (!(await this.repo.reseller(username))) throw new NotFoundError('reseller', username);
    const owned = await this.repo.usernamesOwnedBy(username);
    if (owned.length > 0) {
      throw new ConflictError(`reseller '${username}' still owns ${owned.length} account(s): ${owned.join(', ')}; give them to another owner first (account modify USER --owner admin)`, { accounts: owned });
    }
    await this.repo.removeReseller(username);
    await this.auth.setRole(username, 'user');
    return { username, reseller: false };
  }

  async list(): Promise<ResellerView[]> {
    return Promise.all((await this.repo.resellers()).map((r) => this.view(r.username)));
  }

  /** A reseller may look at its own limits; the admin at anyone's. */
  async show(principal: Principal, username: string): Promise<ResellerView> {
    if (principal.role !== 'admin' && principal.username !== username) throw new ForbiddenError(`reseller '${username}' is not you (you are ${principal.role} '${principal.username}')`);
    return this.view(username);
  }

  private async view(username: string): Promise<ResellerView> {
    const row = await this.repo.reseller(username);
    if (!row) throw new NotFoundError('reseller', username);
    return { username, maxAccounts: row.maxAccounts, accounts: await this.repo.countOwnedBy(username), grantedAt: new Date(row.grantedAt).toISOString() };
  }
}
