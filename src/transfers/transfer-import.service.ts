/**
 * The target side of an account transfer: another parent, holding one of this parent's admin
 * tokens, checks whether an account can come here, imports its records in one go, streams its
 * mailboxes in, compares them, and then finishes the import (its mail is delivered from then on)
 * or aborts it (the account is removed again). Refusals change nothing.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ConflictError, FleetError, ForbiddenError, NotFoundError, ValidationError, refusalOfKind } from '../core/errors.ts';
import { pinnedCall } from '../transport/agent-client.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';
import { domainOf, type MailboxDigest, type MailState } from '../protocol/mail-state.ts';
import { validateZoneRecord } from '../protocol/zone-record.ts';
import type { Principal } from '../auth/principal.ts';
import { ADMIN_OWNER, WORKLOADS, type AccountRecord } from '../accounts/account.model.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import { chooseNode, type PlacementCandidate } from '../accounts/placement.ts';
import type { WorkloadRegistry, WorkloadService } from '../accounts/workload.ts';
import type { NodeRow, NodesRepository } from '../nodes/nodes.repository.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import type { MailAgents } from '../mail/mail-agents.ts';
import type { MailStatePusher } from '../mail/mail-state-pusher.ts';
import type { TransfersRepository } from './transfers.repository.ts';
import { DATABASE_SQL_TYPE, type DatabaseDigest } from '../protocol/databases.ts';
import type { DigestAnswer, ImportAnswer, MailTargetAnswer, TransferBundle, TransferCheckAnswer, TransferCheckQuery, WebTargetAnswer } from './transfer.schemas.ts';
import type { Static } from '@sinclair/typebox';

export const LOCAL_MAIL_NODE = 'local';
const ARCHIVE_TYPE = 'application/x-tar';
const ARCHIVE_TIMEOUT_MS = 31 * 60_000;

/**
 * The address a connection from the web node arrives from at the database node: between loopback
 * addresses of one machine (the local cluster) always 127.0.0.1 (the rule of src/databases, README).
 */
const databaseClientAddress = (webNode: NodeRow): string => (webNode.host.startsWith('127.') ? '127.0.0.1' : webNode.host);

const candidate = (row: NodeRow): PlacementCandidate => ({ id: row.id, alias: row.alias, roles: row.roles, status: row.status, local: row.is_local === 1 });

function requireAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new ForbiddenError(`transfers between parents need an admin token of the target parent; this one belongs to ${principal.role} '${principal.username}'`);
}

/** The certificates domain's placement (built by the parent), so an imported certificate serves at once and leaves with an aborted import. */
export interface ImportedCertificates {
  deploy(accountId: number): Promise<void>;
  removeAccount(accountId: number, domain: string): Promise<void>;
}

/** Every database and user carries the account's prefix, each once, and a grant names one of the bundle's databases. */
function checkDatabases(username: string, databases: NonNullable<TransferBundle['databases']>): void {
  const prefixed = (field: string, name: string): void => {
    if (!name.startsWith(`${username}_`) || name.length === username.length + 1) throw new ValidationError(field, `must start with the account's prefix '${username}_' followed by a name`);
  };
  databases.names.forEach((name, i) => {
    prefixed(`databases.names[${i}]`, name);
    if (databases.names.indexOf(name) !== i) throw new ValidationError(`databases.names[${i}]`, `'${name}' is listed twice`);
  });
  databases.users.forEach((user, i) => {
    prefixed(`databases.users[${i}].name`, user.name);
    if (databases.users.findIndex((u) => u.name === user.name) !== i) throw new ValidationError(`databases.users[${i}].name`, `'${user.name}' is listed twice`);
    user.databases.forEach((database, j) => {
      if (!databases.names.includes(database)) throw new ValidationError(`databases.users[${i}].databases[${j}]`, `'${database}' is not one of the bundle's databases`);
    });
  });
}

/** The certificate's key must be its own, and every name must lie in the account's zone (the target renews it by writing that zone). */
function checkCertificate(domain: string, certificate: NonNullable<TransferBundle['certificate']>): void {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certificate.certPem);
  } catch (error) {
    throw new ValidationError('certificate.certPem', `is not a readable certificate: ${(error as Error).message}`);
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(certificate.keyPem));
  } catch (error) {
    throw new ValidationError('certificate.keyPem', `is not a readable private key: ${(error as Error).message}`);
  }
  if (!matches) throw new ValidationError('certificate.keyPem', 'is not the key of the certificate');
  certificate.names.forEach((name, i) => {
    if (name !== domain && !name.endsWith(`.${domain}`)) throw new ValidationError(`certificate.names[${i}]`, `${name} is outside the account's zone ${domain}`);
  });
}

export interface TransferImportDeps {
  parentName: string;
  repo: TransfersRepository;
  accounts: Pick<AccountsService, 'requireAccount'>;
  nodes: Pick<NodesRepository, 'list' | 'byAlias' | 'byId'>;
  workloads: WorkloadRegistry;
  mailStates: Pick<MailStatePusher, 'addStateContributor' | 'pushAccountNodes'>;
  mailAgents: Pick<MailAgents, 'mailboxDigest' | 'doveadmPassword'>;
  connections: Pick<NodeConnections, 'forRow'>;
  certificates: ImportedCertificates;
}

export class TransferImportService {
  constructor(private readonly deps: TransferImportDeps) {
    // While an import is under way its mail node keeps the domain's deliveries in Postfix's hold
    // queue: a delivery racing the source's doveadm sync into the same mailbox could be stored twice.
    deps.mailStates.addStateContributor(async (_node, state) => this.holdImports(state));
  }

  private async holdImports(state: MailState): Promise<void> {
    const imports = await this.deps.repo.imports();
    if (imports.length === 0) return;
    for (const entry of state.domains) {
      if (entry.relayTo !== undefined) continue;
      if (imports.some((i) => i.domain === entry.domain)) entry.holdDelivery = true;
    }
  }

  /** What an import would meet here; refuses as the import itself would. */
  async check(principal: Principal, query: TransferCheckQuery): Promise<TransferCheckAnswer> {
    requireAdmin(principal);
    await this.refuseClashes({ account: { username: query.username, domain: query.domain }, mailboxes: [], forwarders: [] });
    const mailNode = await this.mailNodeFor(query.mailNode);
    if (query.databases) await this.databaseNode();
    return { parent: this.deps.parentName, mailNode: mailNode.alias, mailAddress: mailNode.host };
  }

  private async refuseClashes(bundle: { account: { username: string; domain: string }; mailboxes: { address: string }[]; forwarders: [] | TransferBundle['forwarders'] }): Promise<void> {
    const clashes = await this.deps.repo.clashes(bundle as Pick<TransferBundle, 'account' | 'mailboxes' | 'forwarders'>);
    if (clashes.username) throw new ConflictError(`parent '${this.deps.parentName}' already has an account or login named '${bundle.account.username}'; nothing was transferred`, { field: 'username' });
    if (clashes.domain) throw new ConflictError(`parent '${this.deps.parentName}' already has the domain '${bundle.account.domain}' (account '${clashes.domain}'); nothing was transferred`, { field: 'domain' });
    if (clashes.addresses.length > 0) throw new ConflictError(`parent '${this.deps.parentName}' already has the mailbox(es) ${clashes.addresses.join(', ')}; nothing was transferred`, { field: 'mailboxes' });
  }

  /**
   * The node the account's mail goes to: a child must be ready, and must be linked to this
   * parent (its agent says which parent it answers to, and answers this parent's mTLS).
   */
  private async mailNodeFor(requested: string | undefined): Promise<NodeRow> {
    const rows = await this.deps.nodes.list();
    let row: NodeRow | undefined;
    if (requested === undefined || requested === LOCAL_MAIL_NODE) {
      row = rows.find((n) => n.is_local === 1);
      if (!row) throw new ValidationError('mailNode', `parent '${this.deps.parentName}' has no node of its own linked`);
    } else {
      row = rows.find((n) => n.alias === requested);
      if (!row) throw new ValidationError('mailNode', `parent '${this.deps.parentName}' has no node named '${requested}'`);
    }
    // Asked before the status: a child that took another parent shows here only as offline or
    // unlinking, and "not ready" would send the admin to repair a node that is not ours any more.
    if (row.is_local !== 1 && row.roles.includes('mail')) await this.assertNotLinkedElsewhere(row);
    chooseNode('mail', rows.map(candidate), candidate(row));
    if (row.is_local !== 1) await this.assertAcceptsThisParent(row);
    return row;
  }

  /** Where imported databases go: the parent's own node when it has the database role, else the first ready database child (as `db create` places them). */
  private async databaseNode(): Promise<NodeRow> {
    const ready = (await this.deps.nodes.list()).filter((n) => n.status === 'ready' && n.roles.includes('database'));
    const chosen = ready.find((n) => n.is_local === 1) ?? ready.sort((a, b) => a.id - b.id)[0];
    if (!chosen) throw new ConflictError(`parent '${this.deps.parentName}' has no ready node with the database role for the account's databases; nothing was transferred`, { field: 'databases' });
    return chosen;
  }

  private async assertNotLinkedElsewhere(row: NodeRow): Promise<void> {
    const hello = await pinnedCall(row.host, row.agent_port, AGENT_ROUTES.hello, undefined, { skipTlsVerify: true }).catch((error: unknown) => {
      throw refusalOfKind('node_unavailable', `child '${row.alias}' (${row.host}) does not answer: ${(error as Error).message}`, { node: row.alias });
    });
    const parentName = hello.body.parentName ?? null;
    if (hello.body.linked === true && parentName !== this.deps.parentName) {
      throw new ConflictError(`child '${row.alias}' is linked to another parent ('${parentName}'), not to '${this.deps.parentName}'; nothing was transferred`, { node: row.alias });
    }
  }

  private async assertAcceptsThisParent(row: NodeRow): Promise<void> {
    try {
      await this.deps.connections.forRow(row).send(AGENT_ROUTES.ping);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ConflictError(`child '${row.alias}' refuses this parent's certificate (${message.split('\n')[0]}); it is linked to another parent or not at all; nothing was transferred`, { node: row.alias });
    }
  }

  /** The rules the schema cannot say: every address in the account's domain, every record in its zone. */
  private checkBundle(bundle: TransferBundle): TransferBundle {
    const domain = bundle.account.domain;
    bundle.mailboxes.forEach((m, i) => {
      if (domainOf(m.address) !== domain) throw new ValidationError(`mailboxes[${i}].address`, `must be in the account's domain ${domain}`);
    });
    const seen = new Set<string>();
    bundle.mailboxes.forEach((m, i) => {
      if (seen.has(m.address)) throw new ValidationError(`mailboxes[${i}].address`, `'${m.address}' is listed twice`);
      seen.add(m.address);
    });
    bundle.forwarders.forEach((f, i) => {
      if (domainOf(f.source) !== domain) throw new ValidationError(`forwarders[${i}].source`, `must be in the account's domain ${domain}`);
    });
    bundle.pipeForwarders.forEach((p, i) => {
      if (domainOf(p.source) !== domain) throw new ValidationError(`pipeForwarders[${i}].source`, `must be in the account's domain ${domain}`);
    });
    if (bundle.certificate) checkCertificate(domain, bundle.certificate);
    if (bundle.databases) checkDatabases(bundle.account.username, bundle.databases);
    return { ...bundle, dnsRecords: bundle.dnsRecords.map((r, i) => validateZoneRecord(domain, r, `dnsRecords[${i}]`)) };
  }

  /** Writes the bundle in one transaction, then sets the account up on its nodes; a failure takes every part out again. */
  async import(principal: Principal, input: TransferBundle): Promise<ImportAnswer> {
    requireAdmin(principal);
    const bundle = this.checkBundle(input);
    await this.refuseClashes(bundle);
    const mailNode = await this.mailNodeFor(bundle.mailNode);
    const rows = await this.deps.nodes.list();
    const placements = WORKLOADS.map((workload) => {
      const chosen = workload === 'mail' ? mailNode : rows.find((r) => r.id === chooseNode(workload, rows.map(candidate)).id)!;
      return { workload, node: chosen };
    });
    const databaseNode = bundle.databases ? await this.databaseNode() : undefined;
    const owner = bundle.account.owner !== ADMIN_OWNER && (await this.deps.repo.resellerHasRoom(bundle.account.owner)) ? bundle.account.owner : ADMIN_OWNER;
    const planId = (await this.deps.repo.planIdByName(bundle.plan.name)) ?? null;
    let accountId: number;
    try {
      accountId = await this.deps.repo.insertBundle(bundle, {
        owner,
        planId,
        mailNodeId: mailNode.is_local === 1 ? null : mailNode.id,
        placements: placements.map((p) => ({ workload: p.workload, nodeId: p.node.id })),
        databaseNodeId: databaseNode?.id ?? null,
      });
    } catch (error) {
      if (/unique|duplicate/i.test((error as Error).message)) throw new ConflictError(`account '${bundle.account.username}' or its domain was created here at the same moment; nothing was transferred`);
      throw error;
    }
    const account = await this.deps.accounts.requireAccount(principal, bundle.account.username, 'owner');
    const done: { service: WorkloadService; node: NodeRow }[] = [];
    const undo = async (): Promise<void> => {
      if (databaseNode) await this.deps.connections.forRow(databaseNode).send(AGENT_ROUTES.dropDatabaseAccount, { params: { account: account.username } }).catch(() => undefined);
      for (const { service: doneService, node: doneNode } of done.reverse()) await doneService.deprovision(account, doneNode).catch(() => undefined);
      await this.deps.certificates.removeAccount(accountId, account.domain);
      await this.deps.repo.removeImported(accountId, account.username);
    };
    for (const service of this.deps.workloads.registered()) {
      const node = placements.find((p) => p.workload === service.workload)!.node;
      try {
        await service.provision(account, node);
        done.push({ service, node });
      } catch (error) {
        await undo();
        const kind = error instanceof FleetError ? error.kind : 'internal';
        throw refusalOfKind(kind, `account '${account.username}' was not imported: its ${service.workload} could not be set up on node '${node.alias}': ${(error as Error).message}`);
      }
    }
    if (bundle.databases && databaseNode) {
      const webNode = placements.find((p) => p.workload === 'web')!.node;
      try {
        await this.createDatabases(account.username, bundle.databases, databaseNode, webNode);
      } catch (error) {
        await undo();
        const kind = error instanceof FleetError ? error.kind : 'internal';
        throw refusalOfKind(kind, `account '${account.username}' was not imported: its databases could not be set up on node '${databaseNode.alias}': ${(error as Error).message}`);
      }
    }
    if (bundle.certificate) {
      // On the web and mail nodes now, so the names answer with the same certificate once DNS points here.
      try {
        await this.deps.certificates.deploy(accountId);
      } catch (error) {
        await undo();
        const kind = error instanceof FleetError ? error.kind : 'internal';
        throw refusalOfKind(kind, `account '${account.username}' was not imported: its certificate could not be placed on its nodes: ${(error as Error).message}`);
      }
    }
    return {
      username: account.username,
      owner,
      plan: bundle.plan.name,
      mailNode: mailNode.alias,
      mailAddress: mailNode.host,
      placements: placements.map((p) => ({ workload: p.workload, node: p.node.alias, address: p.node.host })),
    };
  }

  /** Empty databases, the users with the source's hashes (allowed from the web node here), and their grants; the data follows as SQL streams. */
  private async createDatabases(username: string, databases: NonNullable<TransferBundle['databases']>, node: NodeRow, webNode: NodeRow): Promise<void> {
    const agent = this.deps.connections.forRow(node);
    for (const name of databases.names) await agent.send(AGENT_ROUTES.createDatabase, { params: { account: username, name } });
    for (const user of databases.users) {
      await agent.send(AGENT_ROUTES.setDatabaseUserHash, { params: { account: username, user: user.name }, body: { passwordHash: user.passwordHash, host: databaseClientAddress(webNode) } });
      for (const database of user.databases) await agent.send(AGENT_ROUTES.grantDatabase, { params: { account: username, user: user.name, database } });
    }
  }

  /** The node of the account's databases here, and the database, which must be one of the account's. */
  private async databaseOf(principal: Principal, username: string, name: string): Promise<{ account: AccountRecord; node: NodeRow }> {
    const { account } = await this.importedAccount(principal, username, false);
    const row = await this.deps.repo.databasesOf(account.id);
    if (!row || !row.names.includes(name)) throw new NotFoundError('database', name);
    const node = await this.deps.nodes.byId(row.nodeId);
    if (!node) throw new NotFoundError({ message: `the database node of account '${username}' is no longer linked` });
    return { account, node };
  }

  /** One database's SQL from the source, streamed into the mariadb client of its node here (the database is made anew). */
  async receiveDatabase(principal: Principal, username: string, name: string, sql: Readable): Promise<{ restored: string }> {
    const { node } = await this.databaseOf(principal, username, name).catch((error: unknown) => {
      sql.resume();
      throw error;
    });
    return this.deps.connections.forRow(node).putStream<{ restored: string }>(`/v1/databases/${encodeURIComponent(username)}/databases/${encodeURIComponent(name)}/sql`, sql, DATABASE_SQL_TYPE, ARCHIVE_TIMEOUT_MS);
  }

  /** Tables, row counts and checksums of the copy here (also after finish, for the source's last look). */
  async databaseDigest(principal: Principal, username: string, name: string): Promise<DatabaseDigest> {
    const { node } = await this.databaseOf(principal, username, name);
    return this.deps.connections.forRow(node).send(AGENT_ROUTES.databaseDigest, { params: { account: username, name } });
  }

  /** An installed WordPress named the source's database node in wp-config.php: it names this pair's now. */
  async repointDatabaseHost(principal: Principal, username: string, from: string): Promise<{ changed: boolean }> {
    const { account } = await this.importedAccount(principal, username, true);
    const row = await this.deps.repo.databasesOf(account.id);
    const databaseNode = row && (await this.deps.nodes.byId(row.nodeId));
    const webNode = await this.placementNode(account, 'web');
    if (!databaseNode || !webNode) return { changed: false };
    return this.deps.connections.forRow(webNode).send(AGENT_ROUTES.wordpressDatabaseHost, { params: { account: username, domain: account.domain }, body: { from, to: databaseNode.host } });
  }

  /** The account and its mail node; `underWay`: only while its import is not finished. */
  private async importedAccount(principal: Principal, username: string, underWay: boolean): Promise<{ account: AccountRecord; mailNode: NodeRow }> {
    requireAdmin(principal);
    const account = await this.deps.accounts.requireAccount(principal, username, 'owner');
    if (underWay && !(await this.deps.repo.imports()).some((i) => i.accountId === account.id)) {
      throw new ConflictError(`account '${username}' is not being imported here (its import is finished, or it was created here)`);
    }
    const mailNode = (await this.deps.nodes.list()).find((n) => (account.mailNodeId === null ? n.is_local === 1 : n.id === account.mailNodeId));
    if (!mailNode) throw new NotFoundError({ message: `the mail node of account '${username}' is no longer linked` });
    return { account, mailNode };
  }

  private async mailboxOf(principal: Principal, username: string, address: string, underWay: boolean): Promise<NodeRow> {
    const { account, mailNode } = await this.importedAccount(principal, username, underWay);
    if (domainOf(address) !== account.domain) throw new ValidationError('address', `must be a mailbox of ${account.domain}`);
    return mailNode;
  }

  /**
   * Where the source's mail node syncs the account's mailboxes to: the mail node's address and its
   * doveadm password. Also after the import is finished: the source's last check before it
   * removes its copy may sync a message a user saved there meanwhile.
   */
  async mailTarget(principal: Principal, username: string): Promise<MailTargetAnswer> {
    const { mailNode } = await this.importedAccount(principal, username, false);
    return { address: mailNode.host, doveadmPassword: await this.deps.mailAgents.doveadmPassword(mailNode) };
  }

  /** The web node of the account here (also after finish): the source's web node forwards the site's requests to it until the source removes its copy. */
  async webTarget(principal: Principal, username: string): Promise<WebTargetAnswer> {
    const { account } = await this.importedAccount(principal, username, false);
    const webNode = await this.placementNode(account, 'web');
    if (!webNode) throw new NotFoundError({ message: `account '${username}' has no web node here` });
    return { address: webNode.host };
  }

  /** Whether the account's import is under way here (the source asks this when it runs a step again). */
  async underWay(principal: Principal, username: string): Promise<{ underWay: boolean }> {
    requireAdmin(principal);
    return { underWay: (await this.deps.repo.imports()).some((i) => i.username === username) };
  }

  /** A mailbox's files from the source, streamed into the mail node (placed only when it holds no mail of that mailbox yet). */
  async receiveMailbox(principal: Principal, username: string, address: string, archive: Readable): Promise<{ placed: boolean }> {
    const mailNode = await this.mailboxOf(principal, username, address, true).catch((error: unknown) => {
      archive.resume();
      throw error;
    });
    return this.deps.connections.forRow(mailNode).putStream<{ placed: boolean }>(`/v1/mail/mailboxes/${encodeURIComponent(address)}/archive`, archive, ARCHIVE_TYPE, ARCHIVE_TIMEOUT_MS);
  }

  /** The site's files from the source, streamed into the account's web node in place of the new site's placeholder. */
  async receiveSite(principal: Principal, username: string, archive: Readable): Promise<{ placed: boolean }> {
    const imported = await this.importedAccount(principal, username, true).catch((error: unknown) => {
      archive.resume();
      throw error;
    });
    const webNode = await this.placementNode(imported.account, 'web');
    if (!webNode) {
      archive.resume();
      throw new NotFoundError({ message: `account '${username}' has no web node here` });
    }
    const path = `/v1/web/accounts/${encodeURIComponent(username)}/sites/${encodeURIComponent(imported.account.domain)}/archive`;
    return this.deps.connections.forRow(webNode).putStream<{ placed: boolean }>(path, archive, ARCHIVE_TYPE, ARCHIVE_TIMEOUT_MS);
  }

  async digest(principal: Principal, username: string, address: string): Promise<Static<typeof DigestAnswer>> {
    const mailNode = await this.mailboxOf(principal, username, address, false);
    try {
      const digest: MailboxDigest = await this.deps.mailAgents.mailboxDigest(mailNode, address);
      return digest;
    } catch (error) {
      if (error instanceof FleetError && error.kind === 'not_found') return { messages: 0, guids: [] };
      throw error;
    }
  }

  /** The source verified the copy: deliveries held meanwhile go into the mailboxes, and the account is an ordinary one from now on. */
  async finish(principal: Principal, username: string): Promise<{ finished: string }> {
    requireAdmin(principal);
    const account = await this.deps.accounts.requireAccount(principal, username, 'owner');
    await this.deps.repo.finishImport(account.id);
    await this.deps.mailStates.pushAccountNodes(account);
    return { finished: username };
  }

  /** The source gave up: the imported account goes again, from the nodes first. Only an import under way can be aborted. */
  async abort(principal: Principal, username: string, returnTo?: string): Promise<{ removed: boolean }> {
    requireAdmin(principal);
    const imported = (await this.deps.repo.imports()).find((i) => i.username === username);
    if (!imported) {
      const exists = await this.deps.accounts.requireAccount(principal, username, 'owner').catch(() => undefined);
      if (exists) throw new ConflictError(`account '${username}' is not an import under way here; it is not removed`);
      return { removed: false };
    }
    const account = await this.deps.accounts.requireAccount(principal, username, 'owner');
    // Recorded before the mail nodes let the domain go: their next state relays it to the source
    // instead of holding it, and the mail held so far is released there rather than dropped.
    if (returnTo) await this.deps.repo.setForward({ domain: account.domain, account: username, targetMailAddress: returnTo });
    const databases = await this.deps.repo.databasesOf(account.id);
    const databaseNode = databases && (await this.deps.nodes.byId(databases.nodeId));
    if (databaseNode) await this.deps.connections.forRow(databaseNode).send(AGENT_ROUTES.dropDatabaseAccount, { params: { account: username } });
    for (const service of [...this.deps.workloads.registered()].reverse()) {
      const placement = await this.placementNode(account, service.workload);
      if (placement) await service.deprovision(account, placement);
    }
    await this.deps.certificates.removeAccount(account.id, account.domain);
    await this.deps.repo.removeImported(account.id, username);
    return { removed: true };
  }

  private async placementNode(account: AccountRecord, workload: string): Promise<NodeRow | undefined> {
    const ids = await this.deps.repo.placementNodeId(account.id, workload);
    return ids === undefined ? undefined : this.deps.nodes.byId(ids);
  }
}
