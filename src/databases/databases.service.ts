/**
 * An account's MariaDB databases: created on the node its database placement names (the node of
 * its existing databases, else the one asked for, else the parent's own node when it has the
 * database role, else the first ready DATABASE node), users that may connect only from the
 * account's web node, grants within the account, sizes counted toward the plan's disk, dumps and
 * imports. The store records what exists; the node holds the data.
 */
import { ConflictError, ForbiddenError, NodeUnavailableError, NotFoundError, ValidationError } from '../core/errors.ts';
import { checkIpv4 } from '../core/grammar.ts';
import type { Principal } from '../auth/principal.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { NodeRow, NodesRepository } from '../nodes/nodes.repository.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import type { PasswordPolicyService } from '../passwords/password-policy.service.ts';
import { SerialByKey } from '../core/serial-by-key.ts';
import { assertAccountName } from './database-names.ts';
import type { DatabasesRepository } from './databases.repository.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';
import type { DatabasesOfAccount } from '../protocol/databases.ts';

export interface DatabaseView {
  name: string;
  node: string;
  sizeBytes: number | null;
}

export interface DatabaseListView {
  account: string;
  node: string | null;
  databases: DatabaseView[];
  users: { name: string; host: string | null; databases: string[] }[];
  usedBytes: number;
  maxDatabases: number;
}

/** The agent routes of src/databases/databases.agent-module.ts. */
export interface DatabaseAgents {
  state(node: NodeRow, account: string): Promise<DatabasesOfAccount>;
  createDatabase(node: NodeRow, account: string, name: string): Promise<void>;
  dropDatabase(node: NodeRow, account: string, name: string): Promise<void>;
  setUser(node: NodeRow, account: string, user: string, password: string, host: string): Promise<void>;
  dropUser(node: NodeRow, account: string, user: string): Promise<void>;
  grant(node: NodeRow, account: string, user: string, database: string): Promise<void>;
  dump(node: NodeRow, account: string, name: string): Promise<string>;
  import(node: NodeRow, account: string, name: string, sql: string): Promise<void>;
  dropAccount(node: NodeRow, account: string): Promise<void>;
}

export function databaseAgentsOver(connections: NodeConnections): DatabaseAgents {
  const agent = (node: NodeRow) => connections.forRow(node);
  return {
    state: (node, account) => agent(node).send(AGENT_ROUTES.databasesOfAccount, { params: { account } }),
    async createDatabase(node, account, name) {
      await agent(node).send(AGENT_ROUTES.createDatabase, { params: { account, name } });
    },
    async dropDatabase(node, account, name) {
      await agent(node).send(AGENT_ROUTES.dropDatabase, { params: { account, name } });
    },
    async setUser(node, account, user, password, host) {
      await agent(node).send(AGENT_ROUTES.setDatabaseUser, { params: { account, user }, body: { password, host } });
    },
    async dropUser(node, account, user) {
      await agent(node).send(AGENT_ROUTES.dropDatabaseUser, { params: { account, user } });
    },
    async grant(node, account, user, database) {
      await agent(node).send(AGENT_ROUTES.grantDatabase, { params: { account, user, database } });
    },
    async dump(node, account, name) {
      return (await agent(node).send(AGENT_ROUTES.dumpDatabase, { params: { account, name } })).sql;
    },
    async import(node, account, name, sql) {
      await agent(node).send(AGENT_ROUTES.importDatabase, { params: { account, name }, body: { sql } });
    },
    async dropAccount(node, account) {
      await agent(node).send(AGENT_ROUTES.dropDatabaseAccount, { params: { account } });
    },
  };
}


/**
 * The address a connection from `webNode` arrives from at the database node. Between two
 * loopback addresses of one machine (the local cluster) the kernel picks 127.0.0.1 as the source,
 * whatever address the destination has (README, Choices made).
 */
export function sourceAddressOf(webNode: NodeRow): string {
  if (checkIpv4(webNode.host) !== null) throw new ValidationError('webNode', `node '${webNode.alias}' has the host name ${webNode.host}; database grants need its IPv4 address`);
  return webNode.host.startsWith('127.') ? '127.0.0.1' : webNode.host;
}

export class DatabasesService {
  private readonly perAccount = new SerialByKey();

  constructor(
    private readonly repo: DatabasesRepository,
    private readonly accounts: Pick<AccountsService, 'requireAccount'>,
    private readonly nodes: Pick<NodesRepository, 'list' | 'byId' | 'byAlias'>,
    private readonly passwords: Pick<PasswordPolicyService, 'assertPasswordStrength'>,
    private readonly agents: DatabaseAgents,
  ) {}

  /** The node holding the account's databases, if it has any. */
  private async currentNode(account: AccountRecord): Promise<NodeRow | undefined> {
    const first = (await this.repo.databases(account.id))[0];
    return first ? this.nodes.byId(first.nodeId) : undefined;
  }

  private async placeNode(principal: Principal, account: AccountRecord, requested?: string): Promise<NodeRow> {
    const current = await this.currentNode(account);
    if (current) {
      if (requested && requested !== current.alias && !(requested === 'local' && current.is_local === 1)) {
        throw new ConflictError(`account '${account.username}' keeps its databases on node '${current.alias}'; all of an account's databases live on one node`);
      }
      return current;
    }
    const nodes = await this.nodes.list();
    if (requested) {
      if (principal.role !== 'admin') throw new ForbiddenError('only the admin chooses the node of an account\'s databases');
      const node = requested === 'local' ? nodes.find((n) => n.is_local === 1) : nodes.find((n) => n.alias === requested);
      if (!node) throw new NotFoundError('node', requested);
      if (!node.roles.includes('database')) throw new ValidationError('node', `node '${node.alias}' does not have the database role`);
      if (node.status !== 'ready') throw new NodeUnavailableError({ message: `node '${node.alias}' is not ready (${node.status})`, details: { node: node.alias } });
      return node;
    }
    const ready = nodes.filter((n) => n.status === 'ready' && n.roles.includes('database'));
    const chosen = ready.find((n) => n.is_local === 1) ?? ready.sort((a, b) => a.id - b.id)[0];
    if (!chosen) throw new NodeUnavailableError({ message: 'no ready node has the database role; give the parent\'s own node or a child the DATABASE profile first', details: { workload: 'database' } });
    return chosen;
  }

  private async webSource(account: AccountRecord): Promise<string> {
    const webNodeId = await this.repo.webNodeId(account.id);
    const webNode = webNodeId === undefined ? undefined : await this.nodes.byId(webNodeId);
    if (!webNode) throw new ConflictError(`account '${account.username}' has no web node to allow database connections from`);
    return sourceAddressOf(webNode);
  }

  private async requireNode(account: AccountRecord): Promise<NodeRow> {
    const node = await this.currentNode(account);
    if (!node) throw new ConflictError(`account '${account.username}' has no databases yet; create one first`);
    return node;
  }

  async create(principal: Principal, username: string, name: string, options: { node?: string } = {}): Promise<DatabaseView> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    assertAccountName('name', account.username, name);
    return this.perAccount.run(username, async () => {
      if (await this.repo.database(name)) throw new ConflictError(`database '${name}' exists already`);
      const existing = await this.repo.databases(account.id);
      const max = await this.repo.maxDatabases(account.plan.id);
      if (existing.length >= max) throw new ConflictError(`account '${username}' has ${existing.length} of the ${max} databases its plan '${account.plan.name}' allows`);
      const node = await this.placeNode(principal, account, options.node);
      if (existing.length > 0) {
        const used = (await this.agents.state(node, username)).databases.reduce((sum, d) => sum + d.sizeBytes, 0);
        if (used >= account.plan.diskMb * 1024 * 1024) throw new ConflictError(`account '${username}' uses ${Math.ceil(used / 1048576)} MB in databases, its plan's whole disk of ${account.plan.diskMb} MB`);
      }
      await this.agents.createDatabase(node, username, name);
      await this.repo.addDatabase(account.id, name, node.id);
      return { name, node: node.alias, sizeBytes: 0 };
    });
  }

  async list(principal: Principal, username: string): Promise<DatabaseListView> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    const rows = await this.repo.databases(account.id);
    const users = await this.repo.users(account.id);
    const node = await this.currentNode(account);
    const live = node ? await this.agents.state(node, username).catch(() => undefined) : undefined;
    const databases = rows.map((row) => ({ name: row.name, node: node?.alias ?? `#${row.nodeId}`, sizeBytes: live?.databases.find((d) => d.name === row.name)?.sizeBytes ?? null }));
    return {
      account: username,
      node: node?.alias ?? null,
      databases,
      users: users.map((u) => ({ name: u.name, host: live?.users.find((l) => l.name === u.name)?.host ?? null, databases: u.databases })),
      usedBytes: databases.reduce((sum, d) => sum + (d.sizeBytes ?? 0), 0),
      maxDatabases: await this.repo.maxDatabases(account.plan.id),
    };
  }

  async drop(principal: Principal, username: string, name: string): Promise<{ dropped: string }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    assertAccountName('name', account.username, name);
    const row = await this.requireDatabase(account, name);
    const node = await this.nodes.byId(row.nodeId);
    if (node) await this.agents.dropDatabase(node, username, name);
    await this.repo.removeDatabase(row.id);
    return { dropped: name };
  }

  /** Adds a user or changes its password; the `database` password policy applies. */
  async setUser(principal: Principal, username: string, user: string, password: string, options: { mustExist?: boolean } = {}): Promise<{ user: string; host: string }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    assertAccountName('user', account.username, user);
    await this.passwords.assertPasswordStrength('database', password, { userInputs: [username, user] });
    const existing = await this.repo.user(user);
    if (existing && existing.accountId !== account.id) throw new ConflictError(`database user '${user}' exists already`);
    if (options.mustExist && !existing) throw new NotFoundError('database user', user);
    const node = await this.requireNode(account);
    const host = await this.webSource(account);
    await this.agents.setUser(node, username, user, password, host);
    if (!existing) await this.repo.addUser(account.id, user);
    return { user, host };
  }

  async removeUser(principal: Principal, username: string, user: string): Promise<{ removed: string }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    assertAccountName('user', account.username, user);
    const existing = await this.repo.user(user);
    if (!existing || existing.accountId !== account.id) throw new NotFoundError('database user', user);
    const node = await this.currentNode(account);
    if (node) await this.agents.dropUser(node, username, user);
    await this.repo.removeUser(existing.id);
    return { removed: user };
  }

  async grant(principal: Principal, username: string, user: string, database: string): Promise<{ user: string; database: string }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    assertAccountName('user', account.username, user);
    assertAccountName('database', account.username, database);
    const existing = await this.repo.user(user);
    if (!existing || existing.accountId !== account.id) throw new NotFoundError('database user', user);
    const row = await this.requireDatabase(account, database);
    const node = await this.requireNode(account);
    await this.agents.grant(node, username, user, database);
    await this.repo.addGrant(existing.id, row.id);
    return { user, database };
  }

  async dump(principal: Principal, username: string, name: string): Promise<string> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    assertAccountName('name', account.username, name);
    await this.requireDatabase(account, name);
    return this.agents.dump(await this.requireNode(account), username, name);
  }

  async import(principal: Principal, username: string, name: string, sql: string): Promise<{ imported: string }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    assertAccountName('name', account.username, name);
    await this.requireDatabase(account, name);
    await this.agents.import(await this.requireNode(account), username, name, sql);
    return { imported: name };
  }

  /** Termination: every database and user of the account, on whichever node holds them. */
  async removeAccount(account: AccountRecord): Promise<void> {
    const nodeIds = new Set((await this.repo.databases(account.id)).map((d) => d.nodeId));
    for (const id of nodeIds) {
      const node = await this.nodes.byId(id);
      if (node) await this.agents.dropAccount(node, account.username);
    }
    await this.repo.removeAccount(account.id);
  }

  private async requireDatabase(account: AccountRecord, name: string): Promise<{ id: number; nodeId: number }> {
    const row = await this.repo.database(name);
    if (!row || row.accountId !== account.id) throw new NotFoundError('database', name);
    return row;
  }
}
