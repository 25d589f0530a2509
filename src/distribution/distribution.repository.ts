/** All SQL of mail distribution: where an account's mail is served, the extra copies a move keeps, digests and revocations. */
import type { Store } from '../store/database.ts';

export type MailCopyPhase = 'staging' | 'draining' | 'grace';

export interface MailCopyRow {
  accountId: number;
  nodeId: number;
  phase: MailCopyPhase;
  graceUntil: number | null;
}

export interface MailboxDigestRow {
  address: string;
  nodeId: number;
  accountId: number;
  messages: number;
  guids: string[];
  takenAt: number;
}

export interface RevocationRow {
  accountId: number;
  nodeId: number;
  username: string;
  recordedAt: number;
  appliedAt: number | null;
}

export interface DistributedAccountRow {
  accountId: number;
  username: string;
  domain: string;
  owner: string;
}

export class DistributionRepository {
  constructor(private readonly db: Store) {}

  /**
   * Moves where the account's mail is served: the 'mail' placement and the accounts.distribution
   * column change together, so no reader ever sees one without the other.
   */
  async setMailNode(accountId: number, nodeId: number, isLocal: boolean): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('workload_placements').set({ node_id: nodeId }).where('account_id', '=', accountId).where('workload', '=', 'mail').execute();
      await trx
        .updateTable('accounts')
        .set({ distribution: isLocal ? null : nodeId })
        .where('id', '=', accountId)
        .execute();
    });
  }

  async mailNodeId(accountId: number): Promise<number | undefined> {
    const row = await this.db.selectFrom('workload_placements').select('node_id').where('account_id', '=', accountId).where('workload', '=', 'mail').executeTakeFirst();
    return row?.node_id;
  }

  async accountName(accountId: number): Promise<string | undefined> {
    return (await this.db.selectFrom('accounts').select('username').where('id', '=', accountId).executeTakeFirst())?.username;
  }

  // ---- extra copies

  async copiesOnNode(nodeId: number): Promise<MailCopyRow[]> {
    const rows = await this.db.selectFrom('mail_copies').selectAll().where('node_id', '=', nodeId).execute();
    return rows.map(toCopy);
  }

  /** Copies being read for a move: their account's mail node holds deliveries meanwhile. */
  async drainingCopies(): Promise<MailCopyRow[]> {
    const rows = await this.db.selectFrom('mail_copies').selectAll().where('phase', '=', 'draining').execute();
    return rows.map(toCopy);
  }

  async copiesOfAccount(accountId: number): Promise<MailCopyRow[]> {
    const rows = await this.db.selectFrom('mail_copies').selectAll().where('account_id', '=', accountId).execute();
    return rows.map(toCopy);
  }

  async setCopy(accountId: number, nodeId: number, phase: MailCopyPhase, graceUntil: number | null = null): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('mail_copies').where('account_id', '=', accountId).where('node_id', '=', nodeId).execute();
      await trx.insertInto('mail_copies').values({ account_id: accountId, node_id: nodeId, phase, grace_until: graceUntil, created_at: Date.now() }).execute();
    });
  }

  async removeCopy(accountId: number, nodeId: number): Promise<void> {
    await this.db.deleteFrom('mail_copies').where('account_id', '=', accountId).where('node_id', '=', nodeId).execute();
  }

  async expiredGraceCopies(now: number): Promise<MailCopyRow[]> {
    const rows = await this.db.selectFrom('mail_copies').selectAll().where('phase', '=', 'grace').where('grace_until', '<=', now).execute();
    return rows.map(toCopy);
  }

  /** Accounts whose mail is served by the node, or of which it keeps a copy. */
  async accountsOnNode(nodeId: number): Promise<DistributedAccountRow[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .select(['id', 'username', 'domain', 'owner'])
      .where((eb) =>
        eb.or([
          eb('id', 'in', eb.selectFrom('workload_placements').select('account_id').where('workload', '=', 'mail').where('node_id', '=', nodeId)),
          eb('id', 'in', eb.selectFrom('mail_copies').select('account_id').where('node_id', '=', nodeId)),
        ]),
      )
      .orderBy('username')
      .execute();
    return rows.map((row) => ({ accountId: row.id, username: row.username, domain: row.domain, owner: row.owner }));
  }

  // ---- digests

  async saveDigest(digest: MailboxDigestRow): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('mail_mailbox_digests').where('address', '=', digest.address).where('node_id', '=', digest.nodeId).execute();
      await trx
        .insertInto('mail_mailbox_digests')
        .values({ address: digest.address, node_id: digest.nodeId, account_id: digest.accountId, messages: digest.messages, guids: JSON.stringify(digest.guids), taken_at: digest.takenAt })
        .execute();
    });
  }

  async digestsOf(accountId: number, nodeId: number): Promise<MailboxDigestRow[]> {
    const rows = await this.db.selectFrom('mail_mailbox_digests').selectAll().where('account_id', '=', accountId).where('node_id', '=', nodeId).orderBy('address').execute();
    return rows.map((row) => ({ address: row.address, nodeId: row.node_id, accountId: row.account_id, messages: Number(row.messages), guids: JSON.parse(row.guids) as string[], takenAt: Number(row.taken_at) }));
  }

  // ---- revocations

  async recordRevocation(accountId: number, nodeId: number, username: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('mail_revocations').where('account_id', '=', accountId).where('node_id', '=', nodeId).execute();
      await trx.insertInto('mail_revocations').values({ account_id: accountId, node_id: nodeId, username, recorded_at: Date.now(), applied_at: null }).execute();
    });
  }

  async pendingRevocations(): Promise<RevocationRow[]> {
    const rows = await this.db.selectFrom('mail_revocations').selectAll().where('applied_at', 'is', null).execute();
    return rows.map(toRevocation);
  }

  async revocationsOnNode(nodeId: number): Promise<RevocationRow[]> {
    const rows = await this.db.selectFrom('mail_revocations').selectAll().where('node_id', '=', nodeId).orderBy('username').execute();
    return rows.map(toRevocation);
  }

  async markRevoked(accountId: number, nodeId: number): Promise<void> {
    await this.db.updateTable('mail_revocations').set({ applied_at: Date.now() }).where('account_id', '=', accountId).where('node_id', '=', nodeId).execute();
  }
}

function toCopy(row: { account_id: number; node_id: number; phase: string; grace_until: number | null }): MailCopyRow {
  return { accountId: row.account_id, nodeId: row.node_id, phase: row.phase as MailCopyPhase, graceUntil: row.grace_until === null ? null : Number(row.grace_until) };
}

function toRevocation(row: { account_id: number; node_id: number; username: string; recorded_at: number; applied_at: number | null }): RevocationRow {
  return { accountId: row.account_id, nodeId: row.node_id, username: row.username, recordedAt: Number(row.recorded_at), appliedAt: row.applied_at === null ? null : Number(row.applied_at) };
}
