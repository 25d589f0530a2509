/** All SQL about DNS: the records users added, the nodes' IPv6 addresses, and which zones a node holds. */
import type { Store } from '../store/database.ts';
import type { RecordType } from '../protocol/record-grammar.ts';
import type { ZoneRecord } from '../protocol/zone-record.ts';

export interface UserRecord extends ZoneRecord {
  id: number;
}

export class DnsRepository {
  constructor(private readonly db: Store) {}

  async userRecords(accountId: number): Promise<UserRecord[]> {
    const rows = await this.db.selectFrom('dns_user_records').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
    return rows.map((row) => ({ id: row.id, name: row.name, type: row.type as RecordType, ttl: row.ttl, content: row.content }));
  }

  async insertUserRecord(accountId: number, record: ZoneRecord): Promise<number> {
    const row = await this.db
      .insertInto('dns_user_records')
      .values({ account_id: accountId, name: record.name, type: record.type, ttl: record.ttl, content: record.content, created_at: Date.now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async removeUserRecord(accountId: number, id: number): Promise<void> {
    await this.db.deleteFrom('dns_user_records').where('account_id', '=', accountId).where('id', '=', id).execute();
  }

  async removeUserRecords(accountId: number): Promise<void> {
    await this.db.deleteFrom('dns_user_records').where('account_id', '=', accountId).execute();
  }

  /** Main domains of the accounts whose DNS is placed on the node. */
  async domainsWithDnsOn(nodeId: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .innerJoin('workload_placements', 'workload_placements.account_id', 'accounts.id')
      .select('accounts.domain')
      .where('workload_placements.workload', '=', 'dns')
      .where('workload_placements.node_id', '=', nodeId)
      .orderBy('accounts.domain')
      .execute();
    return rows.map((row) => row.domain);
  }

  async nodeIpv6(nodeId: number): Promise<string | undefined> {
    const row = await this.db.selectFrom('dns_node_ipv6').select('address').where('node_id', '=', nodeId).executeTakeFirst();
    return row?.address;
  }

  async setNodeIpv6(nodeId: number, address: string | null): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('dns_node_ipv6').where('node_id', '=', nodeId).execute();
      if (address !== null) await trx.insertInto('dns_node_ipv6').values({ node_id: nodeId, address }).execute();
    });
  }
}
