/** All SQL the web workload needs: which accounts' sites a node serves, and each site's options. */
import type { Store } from '../store/database.ts';

export interface SiteRow {
  account: string;
  domain: string;
  suspended: boolean;
  /** plain HTTP only redirects to HTTPS */
  httpsRedirect: boolean;
}

export class WebRepository {
  constructor(private readonly db: Store) {}

  async sitesOnNode(nodeId: number): Promise<SiteRow[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .innerJoin('workload_placements', 'workload_placements.account_id', 'accounts.id')
      .leftJoin('web_site_options', 'web_site_options.account_id', 'accounts.id')
      .select(['accounts.username', 'accounts.domain', 'accounts.suspended', 'web_site_options.https_redirect'])
      .where('workload_placements.workload', '=', 'web')
      .where('workload_placements.node_id', '=', nodeId)
      .orderBy('accounts.domain')
      .execute();
    return rows.map((row) => ({ account: row.username, domain: row.domain, suspended: Number(row.suspended) === 1, httpsRedirect: Number(row.https_redirect ?? 0) === 1 }));
  }

  async httpsRedirect(accountId: number): Promise<boolean> {
    const row = await this.db.selectFrom('web_site_options').select('https_redirect').where('account_id', '=', accountId).executeTakeFirst();
    return Number(row?.https_redirect ?? 0) === 1;
  }

  async setHttpsRedirect(accountId: number, enabled: boolean, now: number): Promise<void> {
    const values = { https_redirect: enabled ? 1 : 0, updated_at: now };
    await this.db
      .insertInto('web_site_options')
      .values({ account_id: accountId, ...values })
      .onConflict((oc) => oc.column('account_id').doUpdateSet(values))
      .execute();
  }
}
