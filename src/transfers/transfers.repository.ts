/**
 * All SQL of account transfers: reading an account's records into a bundle (source side), writing
 * a bundle in one transaction and taking it out again (target side), and the rows that mark an
 * import or an export under way.
 */
import type { Store } from '../store/database.ts';
import type { Workload } from '../accounts/account.model.ts';
import type { TransferBundle } from './transfer.schemas.ts';

/** What the import writes beside the bundle: where each workload goes and who owns the account. */
export interface ImportPlacement {
  owner: string;
  /** null: the plan of the bundle's name does not exist here and is created */
  planId: number | null;
  mailNodeId: number | null;
  placements: { workload: Workload; nodeId: number }[];
  /** the node that holds the bundle's databases (null: it has none) */
  databaseNodeId: number | null;
}

export interface ExportRow {
  accountId: number;
  targetUrl: string;
  targetToken: string;
  /** set once the account's mail is routed to the target's mail node */
  targetMailAddress: string | null;
}

/** How long a pair keeps relaying a domain's mail to where it went (DNS caches, queued and held mail). */
export const TRANSFER_FORWARD_MS = Number(process.env.FLEETPANEL_TRANSFER_FORWARD_MS ?? 7 * 86_400_000);

export class TransfersRepository {
  constructor(private readonly db: Store) {}

  // ---- source side

  /** The account's records as a bundle (the caller adds the target's choices: mail node). */
  async bundleOf(accountId: number, source: string): Promise<TransferBundle> {
    const account = await this.db.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirstOrThrow();
    const login = await this.db.selectFrom('users').select('password_hash').where('username', '=', account.username).executeTakeFirstOrThrow();
    const plan = await this.db.selectFrom('plans').selectAll().where('id', '=', account.plan_id).executeTakeFirstOrThrow();
    const reseller = await this.db.selectFrom('resellers').select('max_accounts').where('username', '=', account.username).executeTakeFirst();
    const mailboxes = await this.db.selectFrom('mail_mailboxes').select(['address', 'password_hash', 'quota_mb']).where('account_id', '=', accountId).orderBy('address').execute();
    const forwarders = await this.db.selectFrom('mail_forwarders').select(['source', 'destination']).where('account_id', '=', accountId).orderBy('id').execute();
    const pipes = await this.db.selectFrom('mail_pipe_forwarders').select(['source', 'command']).where('account_id', '=', accountId).orderBy('id').execute();
    const site = await this.db.selectFrom('web_site_options').select('https_redirect').where('account_id', '=', accountId).executeTakeFirst();
    // Only an issued certificate travels: a self-signed placeholder is the source node's own, the target makes its own.
    const certificate = await this.db.selectFrom('certificates').selectAll().where('account_id', '=', accountId).where('kind', '=', 'issued').executeTakeFirst();
    const records = await this.db.selectFrom('dns_user_records').select(['name', 'type', 'ttl', 'content']).where('account_id', '=', accountId).orderBy('id').execute();
    const grouped = new Map<string, string[]>();
    for (const row of forwarders) grouped.set(row.source, [...(grouped.get(row.source) ?? []), row.destination]);
    return {
      version: 1,
      source,
      account: {
        username: account.username,
        domain: account.domain,
        passwordHash: login.password_hash,
        ipv6: account.ipv6 === 1,
        suspended: account.suspended === 1,
        owner: account.owner,
        reseller: reseller ? { maxAccounts: reseller.max_accounts } : null,
      },
      plan: { name: plan.name, diskMb: plan.disk_mb, mailboxes: plan.mailboxes, domains: plan.domains },
      mailboxes: mailboxes.map((m) => ({ address: m.address, passwordHash: m.password_hash, quotaMb: m.quota_mb })),
      forwarders: [...grouped].map(([source, destinations]) => ({ source, destinations })),
      pipeForwarders: pipes.map((p) => ({ source: p.source, command: p.command })),
      site: { httpsRedirect: site?.https_redirect === 1 },
      ...(certificate
        ? {
            certificate: {
              names: JSON.parse(certificate.names) as string[],
              certPem: certificate.cert_pem,
              keyPem: certificate.key_pem,
              issuer: certificate.issuer,
              // PostgreSQL hands bigint columns back as strings.
              notBefore: Number(certificate.not_before),
              notAfter: Number(certificate.not_after),
              renewAt: Number(certificate.renew_at),
            },
          }
        : {}),
      dnsRecords: records.map((r) => ({ name: r.name, type: r.type as TransferBundle['dnsRecords'][number]['type'], ttl: r.ttl, content: r.content })),
    };
  }

  /** In the caller's transaction, the one that queues the job. */
  async setExport(row: ExportRow, trx: Store): Promise<void> {
    await trx.deleteFrom('transfer_exports').where('account_id', '=', row.accountId).execute();
    await trx.insertInto('transfer_exports').values({ account_id: row.accountId, target_url: row.targetUrl, target_token: row.targetToken, target_mail_address: row.targetMailAddress, created_at: Date.now() }).execute();
  }

  /**
   * Mail for a domain that left this pair (a finished transfer) or never arrived (an aborted
   * import) goes on to where it lives now, from every mail node here, until `until`: old MX
   * caches, mail accepted or held while the account moved (see TransferService.relayExports), for
   * TRANSFER_FORWARD_MS from now.
   */
  async setForward(forward: { domain: string; account: string; targetMailAddress: string }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('transfer_forwards').where('domain', '=', forward.domain).execute();
      await trx.insertInto('transfer_forwards').values({ domain: forward.domain, account: forward.account, target_mail_address: forward.targetMailAddress, until: Date.now() + TRANSFER_FORWARD_MS }).execute();
    });
  }

  /** Forwards still running; the expired ones are dropped. */
  async forwards(now: number): Promise<{ domain: string; account: string; targetMailAddress: string }[]> {
    await this.db.deleteFrom('transfer_forwards').where('until', '<', now).execute();
    const rows = await this.db.selectFrom('transfer_forwards').selectAll().execute();
    return rows.map((r) => ({ domain: r.domain, account: r.account, targetMailAddress: r.target_mail_address }));
  }

  /** The account's databases and the node holding them (all of an account's databases live on one node). */
  async databasesOf(accountId: number): Promise<{ names: string[]; nodeId: number } | undefined> {
    const rows = await this.db.selectFrom('account_databases').select(['name', 'node_id']).where('account_id', '=', accountId).orderBy('name').execute();
    return rows.length === 0 ? undefined : { names: rows.map((r) => r.name), nodeId: rows[0]!.node_id };
  }

  async setExportRoute(accountId: number, targetMailAddress: string | null): Promise<void> {
    await this.db.updateTable('transfer_exports').set({ target_mail_address: targetMailAddress }).where('account_id', '=', accountId).execute();
  }

  /** null: the site is served here again (the step's undo). */
  async setExportWebProxy(accountId: number, targetWebAddress: string | null): Promise<void> {
    await this.db.updateTable('transfer_exports').set({ target_web_address: targetWebAddress }).where('account_id', '=', accountId).execute();
  }

  /** Sites of this node whose account is being transferred and whose files are at the target: their requests go to the target's web node. */
  async webProxiesOnNode(nodeId: number): Promise<{ domain: string; upstream: string }[]> {
    const rows = await this.db
      .selectFrom('transfer_exports')
      .innerJoin('accounts', 'accounts.id', 'transfer_exports.account_id')
      .innerJoin('workload_placements', 'workload_placements.account_id', 'transfer_exports.account_id')
      .select(['accounts.domain', 'transfer_exports.target_web_address'])
      .where('workload_placements.workload', '=', 'web')
      .where('workload_placements.node_id', '=', nodeId)
      .where('transfer_exports.target_web_address', 'is not', null)
      .execute();
    return rows.map((r) => ({ domain: r.domain, upstream: r.target_web_address! }));
  }

  async exportOf(accountId: number): Promise<ExportRow | undefined> {
    return (await this.exports()).find((e) => e.accountId === accountId);
  }

  async removeExport(accountId: number): Promise<void> {
    await this.db.deleteFrom('transfer_exports').where('account_id', '=', accountId).execute();
  }

  /** Exports whose mail is routed to the target, with the account's domain. */
  async routedExports(): Promise<{ domain: string; targetMailAddress: string }[]> {
    const rows = await this.db
      .selectFrom('transfer_exports')
      .innerJoin('accounts', 'accounts.id', 'transfer_exports.account_id')
      .select(['accounts.domain', 'transfer_exports.target_mail_address'])
      .where('transfer_exports.target_mail_address', 'is not', null)
      .execute();
    return rows.map((r) => ({ domain: r.domain, targetMailAddress: r.target_mail_address! }));
  }

  async exports(): Promise<ExportRow[]> {
    const rows = await this.db.selectFrom('transfer_exports').selectAll().execute();
    return rows.map((r) => ({ accountId: r.account_id, targetUrl: r.target_url, targetToken: r.target_token, targetMailAddress: r.target_mail_address }));
  }

  // ---- target side

  /** Usernames and addresses the bundle would take that this parent already uses. */
  async clashes(bundle: Pick<TransferBundle, 'account' | 'mailboxes' | 'forwarders'>): Promise<{ username: boolean; domain: string | null; addresses: string[] }> {
    const username =
      (await this.db.selectFrom('accounts').select('id').where('username', '=', bundle.account.username).executeTakeFirst()) !== undefined ||
      (await this.db.selectFrom('users').select('id').where('username', '=', bundle.account.username).executeTakeFirst()) !== undefined;
    const domainOwner = await this.db.selectFrom('accounts').select('username').where('domain', '=', bundle.account.domain).executeTakeFirst();
    const addresses = bundle.mailboxes.map((m) => m.address);
    const taken = addresses.length === 0 ? [] : await this.db.selectFrom('mail_mailboxes').select('address').where('address', 'in', addresses).execute();
    return { username, domain: domainOwner?.username ?? null, addresses: taken.map((r) => r.address) };
  }

  async planIdByName(name: string): Promise<number | undefined> {
    return (await this.db.selectFrom('plans').select('id').where('name', '=', name).executeTakeFirst())?.id;
  }

  /** Whether a reseller of that name has room for one more account. */
  async resellerHasRoom(username: string): Promise<boolean> {
    const reseller = await this.db.selectFrom('resellers').select('max_accounts').where('username', '=', username).executeTakeFirst();
    if (!reseller) return false;
    if (reseller.max_accounts === null) return true;
    const owned = await this.db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('count')).where('owner', '=', username).executeTakeFirstOrThrow();
    return Number(owned.count) < reseller.max_accounts;
  }

  /** Every record of the bundle, the login and the import mark, in one transaction; returns the account's id. */
  async insertBundle(bundle: TransferBundle, where: ImportPlacement): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      let planId = where.planId;
      if (planId === null) {
        const plan = bundle.plan;
        planId = (await trx.insertInto('plans').values({ name: plan.name, disk_mb: plan.diskMb, mailboxes: plan.mailboxes, domains: plan.domains, is_default: 0, created_at: now }).returning('id').executeTakeFirstOrThrow()).id;
      }
      const account = bundle.account;
      await trx.insertInto('users').values({ username: account.username, role: account.reseller ? 'reseller' : 'user', password_hash: account.passwordHash, owner: where.owner, created_at: now, suspended: account.suspended ? 1 : 0 }).execute();
      const { id } = await trx
        .insertInto('accounts')
        .values({ username: account.username, domain: account.domain, plan_id: planId, owner: where.owner, ipv6: account.ipv6 ? 1 : 0, suspended: account.suspended ? 1 : 0, distribution: where.mailNodeId, created_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      for (const placement of where.placements) await trx.insertInto('workload_placements').values({ account_id: id, workload: placement.workload, node_id: placement.nodeId }).execute();
      if (account.reseller) await trx.insertInto('resellers').values({ username: account.username, max_accounts: account.reseller.maxAccounts, granted_at: now }).execute();
      for (const m of bundle.mailboxes) await trx.insertInto('mail_mailboxes').values({ account_id: id, address: m.address, password_hash: m.passwordHash, quota_mb: m.quotaMb, created_at: now }).execute();
      for (const f of bundle.forwarders) for (const destination of f.destinations) await trx.insertInto('mail_forwarders').values({ account_id: id, source: f.source, destination, created_at: now }).execute();
      for (const p of bundle.pipeForwarders) await trx.insertInto('mail_pipe_forwarders').values({ account_id: id, source: p.source, command: p.command, created_at: now }).execute();
      for (const r of bundle.dnsRecords) await trx.insertInto('dns_user_records').values({ account_id: id, name: r.name, type: r.type, ttl: r.ttl, content: r.content, created_at: now }).execute();
      const certificate = bundle.certificate;
      if (certificate) {
        // In service as it is, its renewal where the source had it: the certificate loop here orders the next one when due.
        await trx
          .insertInto('certificates')
          .values({
            account_id: id,
            names: JSON.stringify(certificate.names),
            kind: 'issued',
            cert_pem: certificate.certPem,
            key_pem: certificate.keyPem,
            issuer: certificate.issuer,
            not_before: certificate.notBefore,
            not_after: certificate.notAfter,
            renew_at: certificate.renewAt,
            pending_key_pem: null,
            last_error: null,
            failures: 0,
            retry_at: null,
            updated_at: now,
          })
          .execute();
      }
      if (bundle.databases && where.databaseNodeId !== null) {
        const databaseIds = new Map<string, number>();
        for (const name of bundle.databases.names) {
          const row = await trx.insertInto('account_databases').values({ account_id: id, name, node_id: where.databaseNodeId, created_at: now }).returning('id').executeTakeFirstOrThrow();
          databaseIds.set(name, row.id);
        }
        for (const user of bundle.databases.users) {
          const row = await trx.insertInto('database_users').values({ account_id: id, name: user.name, created_at: now }).returning('id').executeTakeFirstOrThrow();
          for (const database of user.databases) await trx.insertInto('database_grants').values({ user_id: row.id, database_id: databaseIds.get(database)! }).execute();
        }
      }
      if (bundle.site?.httpsRedirect) await trx.insertInto('web_site_options').values({ account_id: id, https_redirect: 1, updated_at: now }).execute();
      await trx.insertInto('transfer_imports').values({ account_id: id, source: bundle.source, created_at: now }).execute();
      return id;
    });
  }

  /** Takes out everything insertBundle wrote for the account (the plan it may have created stays: other accounts may use it by now). */
  async removeImported(accountId: number, username: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('transfer_imports').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('acme_challenges').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('certificates').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('database_grants').where('database_id', 'in', (eb) => eb.selectFrom('account_databases').select('id').where('account_id', '=', accountId)).execute();
      await trx.deleteFrom('database_users').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('account_databases').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('dns_user_records').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('web_site_options').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('mail_pipe_forwarders').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('mail_forwarders').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('mail_mailboxes').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('resellers').where('username', '=', username).execute();
      await trx.deleteFrom('workload_placements').where('account_id', '=', accountId).execute();
      await trx.deleteFrom('accounts').where('id', '=', accountId).execute();
      await trx.deleteFrom('api_tokens').where('username', '=', username).execute();
      await trx.deleteFrom('users').where('username', '=', username).execute();
    });
  }

  /** Account ids and usernames of the imports under way. */
  async imports(): Promise<{ accountId: number; username: string; domain: string; source: string }[]> {
    const rows = await this.db
      .selectFrom('transfer_imports')
      .innerJoin('accounts', 'accounts.id', 'transfer_imports.account_id')
      .select(['transfer_imports.account_id', 'accounts.username', 'accounts.domain', 'transfer_imports.source'])
      .execute();
    return rows.map((r) => ({ accountId: r.account_id, username: r.username, domain: r.domain, source: r.source }));
  }

  async placementNodeId(accountId: number, workload: string): Promise<number | undefined> {
    return (await this.db.selectFrom('workload_placements').select('node_id').where('account_id', '=', accountId).where('workload', '=', workload).executeTakeFirst())?.node_id;
  }

  async finishImport(accountId: number): Promise<void> {
    await this.db.deleteFrom('transfer_imports').where('account_id', '=', accountId).execute();
  }
}
