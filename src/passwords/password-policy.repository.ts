/** All SQL about password policy settings. */
import type { Store } from '../store/database.ts';
import type { PasswordKind, PolicySettings } from './password-policy.model.ts';

export class PasswordPolicyRepository {
  constructor(private readonly db: Store) {}

  async all(): Promise<PolicySettings> {
    const rows = await this.db.selectFrom('password_policies').select(['node_id', 'kind', 'min_score']).execute();
    const settings = new Map<number, Partial<Record<PasswordKind, number>>>();
    for (const row of rows) {
      const scope = settings.get(row.node_id) ?? {};
      scope[row.kind as PasswordKind] = row.min_score;
      settings.set(row.node_id, scope);
    }
    return settings;
  }

  async set(nodeId: number, kind: PasswordKind, minScore: number): Promise<void> {
    const now = Date.now();
    await this.db
      .insertInto('password_policies')
      .values({ node_id: nodeId, kind, min_score: minScore, updated_at: now })
      .onConflict((oc) => oc.columns(['node_id', 'kind']).doUpdateSet({ min_score: minScore, updated_at: now }))
      .execute();
  }
}
