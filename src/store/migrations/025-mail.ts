import type { Kysely, Generated } from 'kysely';
import { autoId } from './helpers.ts';

export interface MailTables {
  /** The mailboxes of every account; the node holding them is the account's 'mail' placement. */
  mail_mailboxes: {
    id: Generated<number>;
    account_id: number;
    /** full address, lower case, unique across the cluster */
    address: string;
    /** '{SHA512-CRYPT}$6$…', what Dovecot's passwd-file holds; the plain password is never stored */
    password_hash: string;
    /** 0 = no limit */
    quota_mb: number;
    created_at: number;
  };
  /** Address forwarders, one row per (source, destination); the node state groups them by source. */
  mail_forwarders: {
    id: Generated<number>;
    account_id: number;
    source: string;
    destination: string;
    created_at: number;
  };
  /** '|/path/program' forwarders: a separate type, because distribution refuses them (issue 5). */
  mail_pipe_forwarders: {
    id: Generated<number>;
    account_id: number;
    source: string;
    command: string;
    created_at: number;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('mail_mailboxes')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('account_id', 'integer', (c) => c.notNull())
    .addColumn('address', 'varchar(254)', (c) => c.notNull().unique())
    .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
    .addColumn('quota_mb', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mail_mailboxes_account').on('mail_mailboxes').column('account_id').execute();
  await db.schema
    .createTable('mail_forwarders')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('account_id', 'integer', (c) => c.notNull())
    .addColumn('source', 'varchar(254)', (c) => c.notNull())
    .addColumn('destination', 'varchar(254)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('mail_forwarders_source_destination', ['source', 'destination'])
    .execute();
  await db.schema.createIndex('mail_forwarders_account').on('mail_forwarders').column('account_id').execute();
  await db.schema
    .createTable('mail_pipe_forwarders')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('account_id', 'integer', (c) => c.notNull())
    .addColumn('source', 'varchar(254)', (c) => c.notNull())
    .addColumn('command', 'varchar(1024)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('mail_pipe_forwarders_source_command', ['source', 'command'])
    .execute();
  await db.schema.createIndex('mail_pipe_forwarders_account').on('mail_pipe_forwarders').column('account_id').execute();
}
