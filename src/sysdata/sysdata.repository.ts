/** All SQL about system data: the parent's lists, the readiness policy, de-syncs and the change log. */
import type { Selectable } from 'kysely';
import type { Store } from '../store/database.ts';
import type { SysdataTables } from '../store/migrations/040-sysdata.ts';
import type { SystemDataItem, SystemDataType } from '../protocol/sysdata-items.ts';

export type DesyncRow = Selectable<SysdataTables['sysdata_desyncs']>;
export type ChangeRow = Selectable<SysdataTables['sysdata_changes']>;

const POLICY_KEY_PREFIX = 'sysdata.policy.';

export interface RecordedChange {
  type: SystemDataType;
  summary: string;
  appliedNodes: string[];
  desyncedNodes: string[];
  digest: string;
}

export class SysdataRepository {
  constructor(private readonly db: Store) {}

  async list<T extends SystemDataType>(type: T): Promise<SystemDataItem<T>[]> {
    const rows = await this.db.selectFrom('sysdata_items').select('item').where('type', '=', type).orderBy('item_id').execute();
    return rows.map((row) => JSON.parse(row.item) as SystemDataItem<T>);
  }

  /**
   * Replaces the type's list and logs the change in one transaction, so the list and the log
   * never disagree about what the nodes were sent.
   */
  async replaceList<T extends SystemDataType>(type: T, items: readonly SystemDataItem<T>[], change: RecordedChange): Promise<void> {
    const now = Date.now();
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('sysdata_items').where('type', '=', type).execute();
      if (items.length > 0) {
        await tx
          .insertInto('sysdata_items')
          .values(items.map((item) => ({ type, item_id: item.id, item: JSON.stringify(item), created_at: now })))
          .execute();
      }
      await tx
        .insertInto('sysdata_changes')
        .values({
          type: change.type,
          at: now,
          summary: change.summary,
          applied_nodes: JSON.stringify(change.appliedNodes),
          desynced_nodes: JSON.stringify(change.desyncedNodes),
          digest: change.digest,
        })
        .execute();
    });
  }

  recentChanges(limit: number): Promise<ChangeRow[]> {
    return this.db.selectFrom('sysdata_changes').selectAll().orderBy('id', 'desc').limit(limit).execute();
  }

  async policyPercent(type: SystemDataType): Promise<number | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', `${POLICY_KEY_PREFIX}${type}`).executeTakeFirst();
    return row === undefined ? undefined : Number(row.value);
  }

  async setPolicyPercent(type: SystemDataType, percent: number): Promise<void> {
    const key = `${POLICY_KEY_PREFIX}${type}`;
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('settings').where('key', '=', key).execute();
      await tx.insertInto('settings').values({ key, value: String(percent) }).execute();
    });
  }

  openDesyncs(): Promise<DesyncRow[]> {
    return this.db.selectFrom('sysdata_desyncs').selectAll().where('resolved_at', 'is', null).orderBy('since').execute();
  }

  openDesync(nodeId: number, type: SystemDataType): Promise<DesyncRow | undefined> {
    return this.db
      .selectFrom('sysdata_desyncs')
      .selectAll()
      .where('node_id', '=', nodeId)
      .where('type', '=', type)
      .where('resolved_at', 'is', null)
      .executeTakeFirst();
  }

  /** Opens a de-sync unless one is already open: "since" is when the node first stopped matching. */
  async registerDesync(nodeId: number, nodeAlias: string, type: SystemDataType, reason: string): Promise<void> {
    if (await this.openDesync(nodeId, type)) return;
    await this.db.insertInto('sysdata_desyncs').values({ node_id: nodeId, node_alias: nodeAlias, type, since: Date.now(), reason, resolved_at: null, resolution: null }).execute();
  }

  async resolveDesyncs(nodeId: number, type: SystemDataType, resolution: string): Promise<number> {
    const result = await this.db
      .updateTable('sysdata_desyncs')
      .set({ resolved_at: Date.now(), resolution })
      .where('node_id', '=', nodeId)
      .where('type', '=', type)
      .where('resolved_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** De-syncs of nodes that were unlinked since: nothing is left to bring in line. */
  async resolveDesyncsOfMissingNodes(existingNodeIds: readonly number[]): Promise<void> {
    let query = this.db.updateTable('sysdata_desyncs').set({ resolved_at: Date.now(), resolution: 'the node was unlinked' }).where('resolved_at', 'is', null);
    if (existingNodeIds.length > 0) query = query.where('node_id', 'not in', existingNodeIds);
    await query.execute();
  }
}
