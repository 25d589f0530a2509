import type { Kysely, Generated } from 'kysely';
import { autoId } from './helpers.ts';

export interface SysdataTables {
  /** The parent's lists: the authority every node is compared with. */
  sysdata_items: {
    type: string;
    item_id: string;
    /** The validated item as JSON (its fields differ per type). */
    item: string;
    created_at: number;
  };
  /** Targets that did not get a change (or drifted); open while resolved_at is null. */
  sysdata_desyncs: {
    id: Generated<number>;
    node_id: number;
    node_alias: string;
    type: string;
    since: number;
    reason: string;
    resolved_at: number | null;
    resolution: string | null;
  };
  /** One row per recorded change, so "what changed when, and where did it go" can be answered. */
  sysdata_changes: {
    id: Generated<number>;
    type: string;
    at: number;
    summary: string;
    applied_nodes: string; // JSON array of aliases
    desynced_nodes: string; // JSON array of aliases
    digest: string;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sysdata_items')
    .addColumn('type', 'varchar(16)', (c) => c.notNull())
    .addColumn('item_id', 'varchar(48)', (c) => c.notNull())
    .addColumn('item', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('sysdata_items_pk', ['type', 'item_id'])
    .execute();
  await db.schema
    .createTable('sysdata_desyncs')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('node_id', 'integer', (c) => c.notNull())
    .addColumn('node_alias', 'varchar(50)', (c) => c.notNull())
    .addColumn('type', 'varchar(16)', (c) => c.notNull())
    .addColumn('since', 'bigint', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('resolved_at', 'bigint')
    .addColumn('resolution', 'text')
    .execute();
  await db.schema.createIndex('sysdata_desyncs_open').on('sysdata_desyncs').columns(['node_id', 'type', 'resolved_at']).execute();
  await db.schema
    .createTable('sysdata_changes')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('type', 'varchar(16)', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('applied_nodes', 'text', (c) => c.notNull())
    .addColumn('desynced_nodes', 'text', (c) => c.notNull())
    .addColumn('digest', 'varchar(64)', (c) => c.notNull())
    .execute();
}
