import type { Kysely, Generated } from 'kysely';
import { autoId } from './helpers.ts';

export interface AccountsTables {
  plans: {
    id: Generated<number>;
    name: string;
    disk_mb: number;
    mailboxes: number;
    domains: number;
    /** 1 for the plan new accounts get when none is named; exactly one row has it */
    is_default: number;
    created_at: number;
  };
  accounts: {
    id: Generated<number>;
    username: string;
    /** the main domain, unique across the cluster */
    domain: string;
    plan_id: number;
    /** 'admin' or the user name of the reseller that owns the account */
    owner: string;
    ipv6: number;
    suspended: number;
    /** the node holding the account's mail when it is not the parent's own node (issue 5); null = parent */
    distribution: number | null;
    created_at: number;
  };
  resellers: {
    username: string;
    /** null = no limit */
    max_accounts: number | null;
    granted_at: number;
  };
  workload_placements: {
    account_id: number;
    workload: string;
    node_id: number;
  };
  /** Suspension also closes the door to the panel: the login check reads this column. */
  users: {
    suspended: Generated<number>;
  };
}

const DEFAULT_PLAN = { name: 'default', disk_mb: 5120, mailboxes: 50, domains: 5 };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('plans')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('name', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('disk_mb', 'integer', (c) => c.notNull())
    .addColumn('mailboxes', 'integer', (c) => c.notNull())
    .addColumn('domains', 'integer', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('plans').values({ ...DEFAULT_PLAN, is_default: 1, created_at: Date.now() }).execute();
  await db.schema
    .createTable('accounts')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('username', 'varchar(16)', (c) => c.notNull().unique())
    .addColumn('domain', 'varchar(253)', (c) => c.notNull().unique())
    .addColumn('plan_id', 'integer', (c) => c.notNull().references('plans.id'))
    .addColumn('owner', 'varchar(64)', (c) => c.notNull())
    .addColumn('ipv6', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('suspended', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('distribution', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('accounts_owner').on('accounts').column('owner').execute();
  await db.schema
    .createTable('resellers')
    .addColumn('username', 'varchar(16)', (c) => c.primaryKey())
    .addColumn('max_accounts', 'integer')
    .addColumn('granted_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('workload_placements')
    .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('workload', 'varchar(16)', (c) => c.notNull())
    .addColumn('node_id', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('workload_placements_pk', ['account_id', 'workload'])
    .execute();
  await db.schema.createIndex('workload_placements_node').on('workload_placements').column('node_id').execute();
  await db.schema.alterTable('users').addColumn('suspended', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}
