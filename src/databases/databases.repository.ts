/** All SQL of the databases domain: which databases and users an account has, where, and grants. */
import type { Store } from '../store/database.ts';

export interface DatabaseRow {
  id: number;
  name: string;
  nodeId: number;
}

export interface DatabaseUserRow {
  id: number;
  name: string;
  databases: string[];
}

export class DatabasesRepository {
  constructor(private readonly db: Store) {}

  async databases(accountId: number): Promise<DatabaseRow[]> {
    const rows = await this.db.selectFrom('account_databases').select(['id', 'name', 'node_id']).where('account_id', '=', accountId).orderBy('name').execute();
    return rows.map((row) => ({ id: row.id, name: row.name, nodeId: row.node_id }));
  }

  async database(name: string): Promise<(DatabaseRow & { accountId: number }) | undefined> {
    const row = await this.db.selectFrom('account_databases').select(['id', 'name', 'node_id', 'account_id']).where('name', '=', name).executeTakeFirst();
    return row && { id: row.id, name: row.name, nodeId: row.node_id, accountId: row.account_id };
  }

  async addDatabase(accountId: number, name: string, nodeId: number): Promise<void> {
    await this.db.insertInto('account_databases').values({ account_id: accountId, name, node_id: nodeId, created_at: Date.now() }).execute();
  }

  async removeDatabase(id: number): Promise<void> {
    await this.db.deleteFrom('database_grants').where('database_id', '=', id).execute();
    await this.db.deleteFrom('account_databases').where('id', '=', id).execute();
  }

  async users(accountId: number): Promise<DatabaseUserRow[]> {
    const users = await this.db.selectFrom('database_users').select(['id', 'name']).where('account_id', '=', accountId).orderBy('name').execute();
    const grants = await this.db
      .selectFrom('database_grants')
      .innerJoin('account_databases', 'account_databases.id', 'database_grants.database_id')
      .select(['database_grants.user_id', 'account_databases.name'])
      .where('account_databases.account_id', '=', accountId)
      .execute();
    return users.map((user) => ({ id: user.id, name: user.name, databases: grants.filter((g) => g.user_id === user.id).map((g) => g.name).sort() }));
  }

  async user(name: string): Promise<{ id: number; accountId: number } | undefined> {
    const row = await this.db.selectFrom('database_users').select(['id', 'account_id']).where('name', '=', name).executeTakeFirst();
    return row && { id: row.id, accountId: row.account_id };
  }

  async addUser(accountId: number, name: string): Promise<void> {
    await this.db.insertInto('database_users').values({ account_id: accountId, name, created_at: Date.now() }).execute();
  }

  async removeUser(id: number): Promise<void> {
    await this.db.deleteFrom('database_grants').where('user_id', '=', id).execute();
    await this.db.deleteFrom('database_users').where('id', '=', id).execute();
  }

  async addGrant(userId: number, databaseId: number): Promise<void> {
    const existing = await this.db.selectFrom('database_grants').select('user_id').where('user_id', '=', userId).where('database_id', '=', databaseId).executeTakeFirst();
    if (!existing) await this.db.insertInto('database_grants').values({ user_id: userId, database_id: databaseId }).execute();
  }

  async maxDatabases(planId: number): Promise<number> {
    const row = await this.db.selectFrom('plans').select('max_databases').where('id', '=', planId).executeTakeFirst();
    return Number(row?.max_databases ?? 0);
  }

  /** The node where an account's web workload lives: its database users connect from there. */
  async webNodeId(accountId: number): Promise<number | undefined> {
    const row = await this.db.selectFrom('workload_placements').select('node_id').where('account_id', '=', accountId).where('workload', '=', 'web').executeTakeFirst();
    return row?.node_id;
  }

  async removeAccount(accountId: number): Promise<void> {
    for (const db of await this.databases(accountId)) await this.removeDatabase(db.id);
    for (const user of await this.users(accountId)) await this.removeUser(user.id);
  }
}
