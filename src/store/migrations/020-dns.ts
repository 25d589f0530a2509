import type { Kysely, Generated } from 'kysely';
import { autoId } from './helpers.ts';

export interface DnsTables {
  /**
   * Records a user added to his account's zone. The managed records (NS, SOA, the site and mail
   * names) are not stored: they are derived from the placements each time the zone is pushed.
   */
  dns_user_records: {
    id: Generated<number>;
    account_id: number;
    /** absolute name without the trailing dot */
    name: string;
    type: string;
    ttl: number;
    content: string;
    created_at: number;
  };
  /** The IPv6 address a node answers on, for the AAAA records of IPv6-enabled accounts it serves. */
  dns_node_ipv6: {
    node_id: number;
    address: string;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('dns_user_records')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('account_id', 'integer', (c) => c.notNull())
    .addColumn('name', 'varchar(253)', (c) => c.notNull())
    .addColumn('type', 'varchar(8)', (c) => c.notNull())
    .addColumn('ttl', 'integer', (c) => c.notNull())
    .addColumn('content', 'varchar(2048)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dns_user_records_account').on('dns_user_records').column('account_id').execute();
  await db.schema
    .createTable('dns_node_ipv6')
    .addColumn('node_id', 'integer', (c) => c.primaryKey())
    .addColumn('address', 'varchar(39)', (c) => c.notNull())
    .execute();
}
