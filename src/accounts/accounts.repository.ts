/** All SQL about accounts, plans, resellers and workload placements. */
import type { Selectable } from 'kysely';
import type { Store } from '../store/database.ts';
import type { AccountsTables } from '../store/migrations/010-accounts.ts';
import type { AccountRecord, Plan, PlacementView, Workload } from './account.model.ts';

type PlanRow = Selectable<AccountsTables['plans']>;
type AccountRow = Selectable<AccountsTables['accounts']>;

const toPlan = (row: PlanRow): Plan => ({ id: row.id, name: row.name, diskMb: row.disk_mb, mailboxes: row.mailboxes, domains: row.domains, isDefault: row.is_default === 1 });

export interface ResellerRow {
  username: string;
  maxAccounts: number | null;
  grantedAt: number;
}

export interface NewAccount {
  username: string;
  domain: string;
  planId: number;
  owner: string;
  ipv6: boolean;
  mailNodeId: number | null;
  placements: { workload: Workload; nodeId: number }[];
}

export class AccountsRepository {
  constructor(private readonly db: Store) {}

  // ---- plans

  async plans(): Promise<Plan[]> {
    return (await this.db.selectFrom('plans').selectAll().orderBy('name').execute()).map(toPlan);
  }

  async planByName(name: string): Promise<Plan | undefined> {
    const row = await this.db.selectFrom('plans').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toPlan(row);
  }

  async defaultPlan(): Promise<Plan> {
    const row = await this.db.selectFrom('plans').selectAll().where('is_default', '=', 1).executeTakeFirstOrThrow();
    return toPlan(row);
  }

  async insertPlan(plan: Omit<Plan, 'id' | 'isDefault'>): Promise<void> {
    await this.db
      .insertInto('plans')
      .values({ name: plan.name, disk_mb: plan.diskMb, mailboxes: plan.mailboxes, domains: plan.domains, is_default: 0, created_at: Date.now() })
      .execute();
  }

  async accountCountByPlan(): Promise<Map<number, number>> {
    const rows = await this.db.selectFrom('accounts').select(['plan_id', (eb) => eb.fn.countAll<number>().as('count')]).groupBy('plan_id').execute();
    return new Map(rows.map((r) => [r.plan_id, Number(r.count)]));
  }

  // ---- accounts

  private async toRecords(rows: AccountRow[]): Promise<AccountRecord[]> {
    if (rows.length === 0) return [];
    const plans = new Map((await this.db.selectFrom('plans').selectAll().execute()).map((p) => [p.id, toPlan(p)]));
    return rows.map((row) => ({
      id: row.id,
      username: row.username,
      domain: row.domain,
      plan: plans.get(row.plan_id)!,
      owner: row.owner,
      ipv6: row.ipv6 === 1,
      suspended: row.suspended === 1,
      mailNodeId: row.distribution,
      createdAt: row.created_at,
    }));
  }

  async byUsername(username: string): Promise<AccountRecord | undefined> {
    const rows = await this.db.selectFrom('accounts').selectAll().where('username', '=', username).execute();
    return (await this.toRecords(rows))[0];
  }

  async byDomain(domain: string): Promise<AccountRecord | undefined> {
    const rows = await this.db.selectFrom('accounts').selectAll().where('domain', '=', domain).execute();
    return (await this.toRecords(rows))[0];
  }

  /** Every account, or those a reseller owns plus the reseller's own. */
  async list(ownedBy?: string): Promise<AccountRecord[]> {
    let query = this.db.selectFrom('accounts').selectAll().orderBy('username');
    if (ownedBy !== undefined) query = query.where((eb) => eb.or([eb('owner', '=', ownedBy), eb('username', '=', ownedBy)]));
    return this.toRecords(await query.execute());
  }

  async countOwnedBy(owner: string): Promise<number> {
    const row = await this.db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('count')).where('owner', '=', owner).executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async usernamesOwnedBy(owner: string): Promise<string[]> {
    const rows = await this.db.selectFrom('accounts').select('username').where('owner', '=', owner).orderBy('username').execute();
    return rows.map((r) => r.username);
  }

  /** The account and its placements in one transaction, so an account never exists half-placed. */
  async insert(account: NewAccount): Promise<AccountRecord> {
    await this.db.transaction().execute(async (trx) => {
      const { id } = await trx
        .insertInto('accounts')
        .values({
          username: account.username,
          domain: account.domain,
          plan_id: account.planId,
          owner: account.owner,
          ipv6: account.ipv6 ? 1 : 0,
          suspended: 0,
          distribution: account.mailNodeId,
          created_at: Date.now(),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      for (const placement of account.placements) {
        await trx.insertInto('workload_placements').values({ account_id: id, workload: placement.workload, node_id: placement.nodeId }).execute();
      }
    });
    return (await this.byUsername(account.username))!;
  }

  async update(id: number, changes: { planId?: number; ipv6?: boolean; owner?: string; suspended?: boolean }): Promise<void> {
    const set: Partial<{ plan_id: number; ipv6: number; owner: string; suspended: number }> = {};
    if (changes.planId !== undefined) set.plan_id = changes.planId;
    if (changes.ipv6 !== undefined) set.ipv6 = changes.ipv6 ? 1 : 0;
    if (changes.owner !== undefined) set.owner = changes.owner;
    if (changes.suspended !== undefined) set.suspended = changes.suspended ? 1 : 0;
    if (Object.keys(set).length > 0) await this.db.updateTable('accounts').set(set).where('id', '=', id).execute();
  }

  async remove(id: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('workload_placements').where('account_id', '=', id).execute();
      await trx.deleteFrom('accounts').where('id', '=', id).execute();
    });
  }

  // ---- placements

  async placements(accountId: number): Promise<{ workload: Workload; nodeId: number }[]> {
    const rows = await this.db.selectFrom('workload_placements').select(['workload', 'node_id']).where('account_id', '=', accountId).execute();
    return rows.map((r) => ({ workload: r.workload as Workload, nodeId: r.node_id }));
  }

  /** Placements with the node's alias, for display; several accounts at once. */
  async placementViews(accountIds: number[]): Promise<Map<number, PlacementView[]>> {
    const views = new Map<number, PlacementView[]>(accountIds.map((id) => [id, []]));
    if (accountIds.length === 0) return views;
    const rows = await this.db
      .selectFrom('workload_placements')
      .leftJoin('nodes', 'nodes.id', 'workload_placements.node_id')
      .select(['workload_placements.account_id', 'workload_placements.workload', 'workload_placements.node_id', 'nodes.alias'])
      .where('workload_placements.account_id', 'in', accountIds)
      .execute();
    for (const row of rows) views.get(row.account_id)?.push({ workload: row.workload as Workload, node: row.alias ?? `#${row.node_id} (gone)` });
    return views;
  }

  async removePlacement(accountId: number, workload: Workload): Promise<void> {
    await this.db.deleteFrom('workload_placements').where('account_id', '=', accountId).where('workload', '=', workload).execute();
  }

  /** Accounts with any workload on the node, or with their mail distributed to it. */
  async usernamesOnNode(nodeId: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .select('username')
      .where((eb) => eb.or([eb('distribution', '=', nodeId), eb('id', 'in', eb.selectFrom('workload_placements').select('account_id').where('node_id', '=', nodeId))]))
      .orderBy('username')
      .execute();
    return rows.map((r) => r.username);
  }

  // ---- resellers

  async reseller(username: string): Promise<ResellerRow | undefined> {
    const row = await this.db.selectFrom('resellers').selectAll().where('username', '=', username).executeTakeFirst();
    return row && { username: row.username, maxAccounts: row.max_accounts, grantedAt: row.granted_at };
  }

  async resellers(): Promise<ResellerRow[]> {
    const rows = await this.db.selectFrom('resellers').selectAll().orderBy('username').execute();
    return rows.map((row) => ({ username: row.username, maxAccounts: row.max_accounts, grantedAt: row.granted_at }));
  }

  async resellerUsernames(): Promise<Set<string>> {
    return new Set((await this.db.selectFrom('resellers').select('username').execute()).map((r) => r.username));
  }

  async upsertReseller(username: string, maxAccounts: number | null): Promise<void> {
    await this.db
      .insertInto('resellers')
      .values({ username, max_accounts: maxAccounts, granted_at: Date.now() })
      .onConflict((oc) => oc.column('username').doUpdateSet({ max_accounts: maxAccounts }))
      .execute();
  }

  async removeReseller(username: string): Promise<void> {
    await this.db.deleteFrom('resellers').where('username', '=', username).execute();
  }
}
