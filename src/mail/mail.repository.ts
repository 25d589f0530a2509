/** All SQL about mail: mailboxes, forwarders and pipe forwarders, and which accounts' mail a node holds or routes. */
import type { Store } from '../store/database.ts';

export interface MailboxRow {
  accountId: number;
  address: string;
  passwordHash: string;
  quotaMb: number;
}

export interface ForwarderRow {
  accountId: number;
  source: string;
  destination: string;
}

export interface PipeForwarderRow {
  accountId: number;
  source: string;
  command: string;
}

/** An account whose mail is placed on some node, as the node states need it. */
export interface MailAccountRow {
  accountId: number;
  username: string;
  domain: string;
  suspended: boolean;
  nodeId: number;
}

export class MailRepository {
  constructor(private readonly db: Store) {}

  /** Every account with a mail placement (the local node's state needs the ones placed elsewhere too). */
  async mailAccounts(): Promise<MailAccountRow[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .innerJoin('workload_placements', 'workload_placements.account_id', 'accounts.id')
      .select(['accounts.id', 'accounts.username', 'accounts.domain', 'accounts.suspended', 'workload_placements.node_id'])
      .where('workload_placements.workload', '=', 'mail')
      .orderBy('accounts.domain')
      .execute();
    return rows.map((row) => ({ accountId: row.id, username: row.username, domain: row.domain, suspended: Number(row.suspended) === 1, nodeId: row.node_id }));
  }

  async accountIds(usernames: readonly string[]): Promise<Map<string, number>> {
    if (usernames.length === 0) return new Map();
    const rows = await this.db.selectFrom('accounts').select(['id', 'username']).where('username', 'in', usernames).orderBy('username').execute();
    return new Map(rows.map((row) => [row.username, row.id]));
  }

  async mailboxes(accountIds: readonly number[]): Promise<MailboxRow[]> {
    if (accountIds.length === 0) return [];
    const rows = await this.db.selectFrom('mail_mailboxes').selectAll().where('account_id', 'in', accountIds).orderBy('address').execute();
    return rows.map((row) => ({ accountId: row.account_id, address: row.address, passwordHash: row.password_hash, quotaMb: row.quota_mb }));
  }

  async mailbox(address: string): Promise<MailboxRow | undefined> {
    const row = await this.db.selectFrom('mail_mailboxes').selectAll().where('address', '=', address).executeTakeFirst();
    return row && { accountId: row.account_id, address: row.address, passwordHash: row.password_hash, quotaMb: row.quota_mb };
  }

  async countMailboxes(accountId: number): Promise<number> {
    const row = await this.db.selectFrom('mail_mailboxes').select((eb) => eb.fn.countAll<number>().as('count')).where('account_id', '=', accountId).executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async insertMailbox(mailbox: MailboxRow): Promise<void> {
    await this.db
      .insertInto('mail_mailboxes')
      .values({ account_id: mailbox.accountId, address: mailbox.address, password_hash: mailbox.passwordHash, quota_mb: mailbox.quotaMb, created_at: Date.now() })
      .execute();
  }

  async setMailboxPasswordHash(address: string, passwordHash: string): Promise<void> {
    await this.db.updateTable('mail_mailboxes').set({ password_hash: passwordHash }).where('address', '=', address).execute();
  }

  async removeMailbox(address: string): Promise<void> {
    await this.db.deleteFrom('mail_mailboxes').where('address', '=', address).execute();
  }

  async forwarders(accountIds: readonly number[]): Promise<ForwarderRow[]> {
    if (accountIds.length === 0) return [];
    const rows = await this.db.selectFrom('mail_forwarders').selectAll().where('account_id', 'in', accountIds).orderBy('source').orderBy('id').execute();
    return rows.map((row) => ({ accountId: row.account_id, source: row.source, destination: row.destination }));
  }

  async pipeForwarders(accountIds: readonly number[]): Promise<PipeForwarderRow[]> {
    if (accountIds.length === 0) return [];
    const rows = await this.db.selectFrom('mail_pipe_forwarders').selectAll().where('account_id', 'in', accountIds).orderBy('source').orderBy('id').execute();
    return rows.map((row) => ({ accountId: row.account_id, source: row.source, command: row.command }));
  }

  async insertForwarders(accountId: number, source: string, destinations: readonly string[]): Promise<void> {
    const now = Date.now();
    await this.db
      .insertInto('mail_forwarders')
      .values(destinations.map((destination) => ({ account_id: accountId, source, destination, created_at: now })))
      .execute();
  }

  async insertPipeForwarder(row: PipeForwarderRow): Promise<void> {
    await this.db.insertInto('mail_pipe_forwarders').values({ account_id: row.accountId, source: row.source, command: row.command, created_at: Date.now() }).execute();
  }

  /** Removes the source's address forwarders (only `destination` when given); returns what was removed. */
  async removeForwarders(accountId: number, source: string, destination?: string): Promise<ForwarderRow[]> {
    let query = this.db.deleteFrom('mail_forwarders').where('account_id', '=', accountId).where('source', '=', source);
    if (destination !== undefined) query = query.where('destination', '=', destination);
    const rows = await query.returning(['account_id', 'source', 'destination']).execute();
    return rows.map((row) => ({ accountId: row.account_id, source: row.source, destination: row.destination }));
  }

  async removePipeForwarders(accountId: number, source: string, command?: string): Promise<PipeForwarderRow[]> {
    let query = this.db.deleteFrom('mail_pipe_forwarders').where('account_id', '=', accountId).where('source', '=', source);
    if (command !== undefined) query = query.where('command', '=', command);
    const rows = await query.returning(['account_id', 'source', 'command']).execute();
    return rows.map((row) => ({ accountId: row.account_id, source: row.source, command: row.command }));
  }

  /** Everything mail of one account, after its data left the node. */
  async removeAccountMail(accountId: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('mail_mailboxes').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('mail_forwarders').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('mail_pipe_forwarders').where('account_id', '=', accountId).execute();
    });
  }
}
