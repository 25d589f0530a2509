/**
 * Moving an account's MariaDB databases to another parent through its import API (README.md in
 * this folder): the account transfer uses it, and so does the re-parent of a child (src/reparent),
 * whose accounts leave this parent as a transfer's do. One copy of the rule that keeps data from
 * being lost: the users are locked here before the first dump (nothing writes after it), and this
 * copy may go only once every table has the same rows and checksum at the other parent.
 */
import { ConflictError, NodeUnavailableError } from '../core/errors.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { NodeRow, NodesRepository } from '../nodes/nodes.repository.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import type { TransfersRepository } from './transfers.repository.ts';
import type { TargetParent } from './target-parent.client.ts';
import type { TransferBundle } from './transfer.schemas.ts';

const SQL_TIMEOUT_MS = 31 * 60_000;

/** The account's databases on this parent and the node that holds them all. */
export interface SourceDatabases {
  node: NodeRow;
  names: string[];
}

/** What a job that moves an account's databases to another parent asks of this one. */
export interface DatabaseMoves {
  /** The account's databases here; undefined when it has none. */
  sourceOf(account: AccountRecord): Promise<SourceDatabases | undefined>;
  /** The bundle's databases: names from the store, users with their password hashes from the node (a hash, never a password, leaves it). */
  bundleOf(account: AccountRecord): Promise<TransferBundle['databases']>;
  /** Locks (or unlocks) the account's database users on their node, ending their sessions; the users it changed. */
  lockUsers(node: NodeRow, username: string, locked: boolean): Promise<string[]>;
  /**
   * Streams every database not yet in `restored` (mariadb-dump here, through both parents, into
   * the mariadb client of the other parent's database node), calling `copied` after each so the
   * caller checkpoints; a run again after a crash copies only the rest (a copy made anew there).
   */
  copyAll(source: SourceDatabases, target: TargetParent, username: string, restored: readonly string[], copied: (restored: string[], name: string) => Promise<void>, signal?: AbortSignal): Promise<string[]>;
  /** The same tables with the same row counts and checksums on both sides, or a conflict: this copy stays. */
  verify(node: NodeRow, target: TargetParent, username: string, name: string): Promise<{ tables: number; rows: number }>;
}

export interface DatabaseMoverDeps {
  repo: Pick<TransfersRepository, 'databasesOf'>;
  nodes: Pick<NodesRepository, 'byId'>;
  connections: Pick<NodeConnections, 'forRow'>;
}

export class DatabaseMover implements DatabaseMoves {
  constructor(private readonly deps: DatabaseMoverDeps) {}

  async sourceOf(account: AccountRecord): Promise<SourceDatabases | undefined> {
    const row = await this.deps.repo.databasesOf(account.id);
    if (!row) return undefined;
    const node = await this.deps.nodes.byId(row.nodeId);
    if (!node) throw new NodeUnavailableError({ message: `the database node #${row.nodeId} of '${account.username}' is no longer linked; its databases cannot be copied` });
    return { node, names: row.names };
  }

  async bundleOf(account: AccountRecord): Promise<TransferBundle['databases']> {
    const source = await this.sourceOf(account);
    if (!source) return undefined;
    const { users } = await this.deps.connections.forRow(source.node).send(AGENT_ROUTES.databaseCredentials, { params: { account: account.username } });
    return { names: source.names, users: users.map((u) => ({ name: u.name, passwordHash: u.passwordHash, databases: u.databases.filter((d) => source.names.includes(d)) })) };
  }

  async lockUsers(node: NodeRow, username: string, locked: boolean): Promise<string[]> {
    return (await this.deps.connections.forRow(node).send(AGENT_ROUTES.lockDatabaseUsers, { params: { account: username }, body: { locked } })).users;
  }

  async copyAll(source: SourceDatabases, target: TargetParent, username: string, restored: readonly string[], copied: (restored: string[], name: string) => Promise<void>, signal?: AbortSignal): Promise<string[]> {
    const done = [...restored];
    for (const name of source.names) {
      if (done.includes(name)) continue;
      if (signal?.aborted) throw signal.reason;
      const sql = await this.deps.connections.forRow(source.node).openStream(`/v1/databases/${encodeURIComponent(username)}/databases/${encodeURIComponent(name)}/sql`, SQL_TIMEOUT_MS);
      await target.putDatabase(username, name, sql);
      done.push(name);
      await copied(done, name);
    }
    return done;
  }

  async verify(node: NodeRow, target: TargetParent, username: string, name: string): Promise<{ tables: number; rows: number }> {
    const here = await this.deps.connections.forRow(node).send(AGENT_ROUTES.databaseDigest, { params: { account: username, name } });
    const there = await target.databaseDigest(username, name);
    const differing = [
      ...here.tables.filter((t) => !there.tables.some((c) => c.name === t.name && c.rows === t.rows && c.checksum === t.checksum)).map((t) => t.name),
      ...there.tables.filter((c) => !here.tables.some((t) => t.name === c.name)).map((c) => c.name),
    ];
    if (differing.length > 0) throw new ConflictError(`database ${name}: table(s) ${differing.join(', ')} differ between here and ${target.url} (rows or checksum); this copy stays`, { database: name, tables: differing });
    return { tables: here.tables.length, rows: here.tables.reduce((sum, t) => sum + t.rows, 0) };
  }
}
