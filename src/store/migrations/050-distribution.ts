import type { Kysely } from 'kysely';

export interface DistributionTables {
  /**
   * Copies of an account's mail on a node other than its mail node, kept while a move is under
   * way or for the grace period after one. The account's placement says where its mail is
   * served; these rows say where else its mailboxes must stay known to Dovecot (so doveadm can
   * still read and sync them) and how that node routes the account's traffic meanwhile.
   */
  mail_copies: {
    account_id: number;
    node_id: number;
    /** 'staging': the node holds the mailboxes, nothing routed to it yet; 'draining': the node
     *  routes the domain to the mail node and keeps the mailboxes only for copying;
     *  'grace': draining, after a move back, until grace_until */
    phase: string;
    /** epoch ms; only for 'grace' */
    grace_until: number | null;
    created_at: number;
  };
  /** The last digest the parent took of a mailbox on a node: what force-dedistribute compares with. */
  mail_mailbox_digests: {
    address: string;
    node_id: number;
    account_id: number;
    messages: number;
    /** JSON array of message GUIDs, sorted */
    guids: string;
    taken_at: number;
  };
  /** A forced dedistribution's revocation of a child's credentials, applied when the child answers. */
  mail_revocations: {
    account_id: number;
    node_id: number;
    username: string;
    recorded_at: number;
    applied_at: number | null;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('mail_copies')
    .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('node_id', 'integer', (c) => c.notNull())
    .addColumn('phase', 'varchar(16)', (c) => c.notNull())
    .addColumn('grace_until', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('mail_copies_pk', ['account_id', 'node_id'])
    .execute();
  await db.schema.createIndex('mail_copies_node').on('mail_copies').column('node_id').execute();
  await db.schema
    .createTable('mail_mailbox_digests')
    .addColumn('address', 'varchar(320)', (c) => c.notNull())
    .addColumn('node_id', 'integer', (c) => c.notNull())
    .addColumn('account_id', 'integer', (c) => c.notNull())
    .addColumn('messages', 'integer', (c) => c.notNull())
    .addColumn('guids', 'text', (c) => c.notNull())
    .addColumn('taken_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('mail_mailbox_digests_pk', ['address', 'node_id'])
    .execute();
  await db.schema
    .createTable('mail_revocations')
    .addColumn('account_id', 'integer', (c) => c.notNull())
    .addColumn('node_id', 'integer', (c) => c.notNull())
    .addColumn('username', 'varchar(16)', (c) => c.notNull())
    .addColumn('recorded_at', 'bigint', (c) => c.notNull())
    .addColumn('applied_at', 'bigint')
    .addPrimaryKeyConstraint('mail_revocations_pk', ['account_id', 'node_id'])
    .execute();
}
