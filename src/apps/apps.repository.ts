/** The SQL of the application installer: which account owns a site, and its web node. */
import type { Store } from '../store/database.ts';

export class AppsRepository {
  constructor(private readonly db: Store) {}

  async siteOwner(domain: string): Promise<{ username: string; webNodeId: number } | undefined> {
    const row = await this.db
      .selectFrom('accounts')
      .innerJoin('workload_placements', 'workload_placements.account_id', 'accounts.id')
      .select(['accounts.username', 'workload_placements.node_id'])
      .where('accounts.domain', '=', domain)
      .where('workload_placements.workload', '=', 'web')
      .executeTakeFirst();
    return row && { username: row.username, webNodeId: row.node_id };
  }
}
