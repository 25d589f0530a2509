/**
 * The application installer: WordPress on an account's site, with its database and user on the
 * account's database node. Without a title it leaves the site at WordPress's own setup page;
 * with a title and an admin password it completes the setup through that page, as a person would
 * (admin user named after the account).
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { ConflictError, InternalError, NotFoundError, ValidationError } from '../core/errors.ts';
import { assertValid, checkDomain, checkSafeLine } from '../core/grammar.ts';
import type { Principal } from '../auth/principal.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { NodeRow, NodesRepository } from '../nodes/nodes.repository.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import type { DatabasesService } from '../databases/databases.service.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';
import type { AppsRepository } from './apps.repository.ts';

export interface WordpressInstallView {
  site: string;
  account: string;
  database: string;
  databaseUser: string;
  databaseNode: string;
  webNode: string;
  /** where the owner finishes the setup, when it was not completed here */
  setupUrl: string | null;
  admin: string | null;
}

export class AppsService {
  constructor(
    private readonly repo: AppsRepository,
    private readonly accounts: Pick<AccountsService, 'requireAccount'>,
    private readonly databases: Pick<DatabasesService, 'create' | 'setUser' | 'grant' | 'list'>,
    private readonly nodes: Pick<NodesRepository, 'byId' | 'byAlias'>,
    private readonly connections: NodeConnections,
  ) {}

  private async siteOwner(domain: string): Promise<{ username: string; webNode: NodeRow }> {
    const row = await this.repo.siteOwner(domain);
    const webNode = row && (await this.nodes.byId(row.webNodeId));
    if (!row || !webNode) throw new NotFoundError('site', domain);
    return { username: row.username, webNode };
  }

  async installWordpress(principal: Principal, site: string, options: { title?: string; adminPassword?: string } = {}): Promise<WordpressInstallView> {
    const domain = assertValid('site', site, checkDomain);
    const title = options.title === undefined ? undefined : assertValid('title', options.title, checkSafeLine);
    if ((title === undefined) !== (options.adminPassword === undefined)) throw new ValidationError('title', 'give both a title and an admin password to complete the setup, or neither');
    const { username, webNode } = await this.siteOwner(domain);
    await this.accounts.requireAccount(principal, username, 'user');
    const database = `${username}_wp`;
    const existing = await this.databases.list(principal, username);
    if (existing.databases.some((d) => d.name === database)) throw new ConflictError(`account '${username}' has a database ${database} already; is WordPress installed?`);
    const created = await this.databases.create(principal, username, database);
    // Random letters and digits: strong for any policy, and safe inside wp-config.php.
    const password = randomBytes(24).toString('base64url').replace(/[^A-Za-z0-9]/g, 'q');
    await this.databases.setUser(principal, username, database, password);
    await this.databases.grant(principal, username, database, database);
    const dbNode = await this.nodes.byAlias(created.node);
    if (!dbNode) throw new NotFoundError('node', created.node);
    await this.connections.forRow(webNode).send(AGENT_ROUTES.installWordpress, {
      params: { account: username, domain },
      body: { databaseName: database, databaseUser: database, databasePassword: password, databaseHost: dbNode.host },
    });
    const view: WordpressInstallView = { site: domain, account: username, database, databaseUser: database, databaseNode: dbNode.alias, webNode: webNode.alias, setupUrl: `http://${domain}/wp-admin/install.php`, admin: null };
    if (title === undefined) return view;
    await completeSetup(webNode.host, domain, { title, admin: username, password: options.adminPassword!, email: `${username}@${domain}` });
    return { ...view, setupUrl: null, admin: username };
  }
}

/** Posts WordPress's own setup form (wp-admin/install.php, step 2) to the site on its web node. */
async function completeSetup(address: string, domain: string, form: { title: string; admin: string; password: string; email: string }): Promise<void> {
  const body = new URLSearchParams({
    weblog_title: form.title,
    user_name: form.admin,
    admin_password: form.password,
    admin_password2: form.password,
    pw_weak: '1',
    admin_email: form.email,
    blog_public: '0',
    language: '',
    Submit: 'Install WordPress',
  }).toString();
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const outgoing = request(
      { host: address, port: 80, path: '/wp-admin/install.php?step=2', method: 'POST', headers: { Host: domain, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }, timeout: 120_000 },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (c: Buffer) => chunks.push(c));
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.on('timeout', () => outgoing.destroy(new Error('timeout')));
    outgoing.end(body);
  });
  if (status !== 200 || !/Success!/i.test(text)) {
    const reason = /<p class="message">([^<]*)/.exec(text)?.[1] ?? /<p>([^<]{0,200})/.exec(text)?.[1] ?? `HTTP ${status}`;
    throw new InternalError(`WordPress's setup page refused the installation of ${domain}: ${reason.trim()}`);
  }
}
