import type { Kysely } from 'kysely';

export interface PasswordPolicyTables {
  password_policies: {
    /** nodes.id of the node the setting belongs to; 0 = the parent's own settings */
    node_id: number;
    /** account | mail | mailinglist | ftp */
    kind: string;
    /** minimum zxcvbn score, 0 to 4 */
    min_score: number;
    updated_at: number;
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('password_policies')
    .addColumn('node_id', 'integer', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('min_score', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('password_policies_pk', ['node_id', 'kind'])
    .execute();
}
