/** All SQL the web workload needs: which accounts' sites a node serves. */
import type { Store } from '../store/database.ts';

export interface SiteRow {
  account: string;
  domain: string;
  suspended: boolean;
}

export class WebRepository {
  constructor(private readonly db: Store) {}

  async sitesOnNode(nodeId: number): Promise<SiteRow[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .innerJoin('workload_placements', 'workload_placements.account_id', 'accounts.id')
      .select(['accounts.username', 'accounts.domain', 'accounts.suspended'])
      .where('workload_placements.workload', '=', 'web')
      .where('workload_placements.node_id', '=', nodeId)
      .orderBy('accounts.domain')
      .execute();
    return rows.map((row) => ({ account: row.username, domain: row.domain, suspended: Number(row.suspended) === 1 }));
  }
}
