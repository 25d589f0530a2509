/**
 * The parent's system data: its lists (the authority), the readiness policy per type, changes as
 * distributed queries, and the synchronizers that bring every node in line (in a node's
 * data-sync phase, and from a periodic digest check that also catches hand-made changes). Every
 * node whose list may differ from the parent's has an open de-sync saying since when and why.
 */
import { randomBytes } from 'node:crypto';
import { FleetError, InternalError, NotFoundError, ValidationError } from '../core/errors.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import { digest } from './digest.ts';
import { DistributedQueryError, runDistributedQuery } from './distributed-query.ts';
import { DEFAULT_READINESS_PERCENT, validateReadinessPercent } from './readiness.ts';
import { ReadWriteLock } from './read-write-lock.ts';
import { Synchronizer, SynchronizerRegistry, SYNC_PRIORITY, type ReconcileOutcome } from './synchronizer.ts';
import type { SysdataRepository } from './sysdata.repository.ts';
import { concernsNode, isReady, targetsOf, type SysdataNode } from './targets.ts';
import { SYSTEM_DATA_TYPES, validateList, type SystemDataItem, type SystemDataType } from '../protocol/sysdata-items.ts';

export const DEFAULT_SYSDATA_CHECK_INTERVAL_MS = 60_000;

/** The node side as the service needs it; implemented over mTLS by the agent client. */
export interface SysdataAgents {
  apply<T extends SystemDataType>(node: NodeRow, type: T, items: readonly SystemDataItem<T>[]): Promise<void>;
  digest(node: NodeRow, type: SystemDataType): Promise<string>;
}

export interface SysdataServiceDeps {
  repo: SysdataRepository;
  nodeRows(): Promise<NodeRow[]>;
  agents: SysdataAgents;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** A node row seen through the system-data rules (status and roles). */
export interface ClusterNode extends SysdataNode {
  row: NodeRow;
}

export function toClusterNode(row: NodeRow): ClusterNode {
  return { id: String(row.id), alias: row.alias, status: row.status, roles: row.roles.map((name) => ({ name, active: true })), row };
}

export interface ListView<T extends SystemDataType = SystemDataType> {
  type: T;
  items: SystemDataItem<T>[];
  digest: string;
}

export interface ChangeResult<T extends SystemDataType = SystemDataType> extends ListView<T> {
  /** The ready targets that hold the new list. */
  applied: string[];
  /** The targets that were not ready: each has a de-sync registered and gets the list when it is ready again. */
  desynced: string[];
}

export interface NodeSyncStatus {
  node: string;
  nodeStatus: string;
  inSync: boolean;
  since: string | null;
  reason: string | null;
}

export interface TypeSyncStatus {
  type: SystemDataType;
  items: number;
  digest: string;
  policyPercent: number;
  nodes: NodeSyncStatus[];
}

const ID_PREFIX: Record<SystemDataType, string> = { firewall: 'fw', scheduler: 'task', whitelist: 'wl', blacklist: 'bl' };

function newItemId(type: SystemDataType): string {
  return `${ID_PREFIX[type]}-${randomBytes(4).toString('hex')}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class SysdataService {
  private readonly locks = new Map<SystemDataType, ReadWriteLock>(SYSTEM_DATA_TYPES.map((type) => [type, new ReadWriteLock()]));
  readonly synchronizers: SynchronizerRegistry<ClusterNode>;
  private checkTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private checking: Promise<ReconcileOutcome[]> | undefined;

  constructor(private readonly deps: SysdataServiceDeps) {
    this.synchronizers = new SynchronizerRegistry<ClusterNode>(
      SYNC_PRIORITY.map(
        (type) =>
          new Synchronizer<SystemDataType, ClusterNode>(type, {
            parentList: () => deps.repo.list(type),
            nodeDigest: (node) => deps.agents.digest(node.row, type),
            push: (node, list) => deps.agents.apply(node.row, type, list),
          }),
      ),
    );
  }

  private lock(type: SystemDataType): ReadWriteLock {
    return this.locks.get(type)!;
  }

  private log(message: string, fields?: Record<string, unknown>): void {
    this.deps.log?.(message, fields);
  }

  async list<T extends SystemDataType>(type: T): Promise<ListView<T>> {
    const items = await this.deps.repo.list(type);
    return { type, items, digest: digest(items) };
  }

  /** Adds one item; the id is generated unless given. */
  async add<T extends SystemDataType>(type: T, fields: Record<string, unknown>): Promise<ChangeResult<T> & { item: SystemDataItem<T> }> {
    const candidate = { ...fields, id: fields.id ?? newItemId(type) };
    return this.lock(type).write(async () => {
      const before = await this.deps.repo.list(type);
      if (before.some((item) => item.id === candidate.id)) throw new ValidationError('id', `'${String(candidate.id)}' is already in the ${type} list`);
      const [item] = validateList(type, [candidate]);
      const result = await this.changeLocked(type, before, [...before, item!], `add ${item!.id}`);
      return { ...result, item: item! };
    });
  }

  async remove<T extends SystemDataType>(type: T, id: string): Promise<ChangeResult<T>> {
    return this.lock(type).write(async () => {
      const before = await this.deps.repo.list(type);
      if (!before.some((item) => item.id === id)) throw new NotFoundError(`${type} item`, id);
      return this.changeLocked(type, before, before.filter((item) => item.id !== id), `remove ${id}`);
    });
  }

  /** Replaces the whole list in one change. */
  async replace<T extends SystemDataType>(type: T, items: unknown): Promise<ChangeResult<T>> {
    return this.lock(type).write(async () => {
      const before = await this.deps.repo.list(type);
      return this.changeLocked(type, before, validateList(type, items), 'replace the list');
    });
  }

  private async changeLocked<T extends SystemDataType>(type: T, before: SystemDataItem<T>[], after: SystemDataItem<T>[], summary: string): Promise<ChangeResult<T>> {
    const validAfter = validateList(type, after);
    const nodes = (await this.deps.nodeRows()).map(toClusterNode);
    const policy = await this.policyPercent(type);
    const push = (node: ClusterNode, list: readonly SystemDataItem<T>[]): Promise<void> => this.deps.agents.apply(node.row, type, list);
    let result;
    try {
      result = await runDistributedQuery({ type, change: { before, after: validAfter }, targets: targetsOf(type, nodes), policy, apply: push, undo: push });
    } catch (error) {
      if (error instanceof DistributedQueryError) {
        // A node whose undo failed may still hold the refused list; its synchronizer decides.
        for (const failure of error.undoFailures) {
          const node = nodes.find((n) => n.alias === failure.node);
          if (node) await this.deps.repo.registerDesync(node.row.id, node.alias, type, `undoing the refused change "${summary}" failed: ${failure.error}`);
        }
      }
      throw error;
    }
    const newDigest = digest(validAfter);
    await this.deps.repo.replaceList(type, validAfter, {
      type,
      summary,
      appliedNodes: result.applied.map((n) => n.alias),
      desyncedNodes: result.desynced.map((n) => n.alias),
      digest: newDigest,
    });
    for (const node of result.desynced) {
      await this.deps.repo.registerDesync(node.row.id, node.alias, type, `the node was ${node.status} when "${summary}" was applied`);
    }
    this.log('system data changed', { type, summary, applied: result.applied.length, desynced: result.desynced.map((n) => n.alias) });
    return { type, items: validAfter, digest: newDigest, applied: result.applied.map((n) => n.alias), desynced: result.desynced.map((n) => n.alias) };
  }

  async policyPercent(type: SystemDataType): Promise<number> {
    return (await this.deps.repo.policyPercent(type)) ?? DEFAULT_READINESS_PERCENT;
  }

  async policy(): Promise<Record<SystemDataType, number>> {
    const entries = await Promise.all(SYSTEM_DATA_TYPES.map(async (type) => [type, await this.policyPercent(type)] as const));
    return Object.fromEntries(entries) as Record<SystemDataType, number>;
  }

  async setPolicy(type: SystemDataType, percent: unknown): Promise<Record<SystemDataType, number>> {
    await this.deps.repo.setPolicyPercent(type, validateReadinessPercent(percent, 'percent'));
    return this.policy();
  }

  /**
   * Brings one node in line with every type it concerns, firewall first. Records the outcome in
   * the de-sync registry: a match resolves, a repaired drift is logged as a de-sync resolved at
   * once, a failure stays open with its reason.
   */
  async reconcileNode(node: ClusterNode, occasion: string): Promise<ReconcileOutcome[]> {
    const outcomes: ReconcileOutcome[] = [];
    for (const synchronizer of this.synchronizers.ordered()) {
      const type = synchronizer.type;
      if (!concernsNode(type, node)) continue;
      let unreachable = false;
      const outcome = await this.lock(type).read(async (): Promise<ReconcileOutcome> => {
        try {
          return await synchronizer.reconcile(node);
        } catch (error) {
          unreachable = error instanceof FleetError && error.kind === 'node_unavailable';
          return { type, node: node.alias, result: 'failed', error: describe(error) };
        }
      });
      const { repo } = this.deps;
      if (outcome.result === 'in-sync') {
        await repo.resolveDesyncs(node.row.id, type, `digest matches (${occasion})`);
      } else if (outcome.result === 'pushed') {
        await repo.registerDesync(node.row.id, node.alias, type, `digest ${outcome.from.slice(0, 12)} instead of ${outcome.to.slice(0, 12)} (${occasion})`);
        await repo.resolveDesyncs(node.row.id, type, `the parent's list was pushed (${occasion})`);
        this.log('system data repaired on a node', { type, node: node.alias, occasion });
      } else if (!unreachable) {
        // An unreachable node has not diverged (the health check marks it offline, and it
        // is brought in line before it is ready again); only a node that answered and failed has.
        await repo.registerDesync(node.row.id, node.alias, type, `${occasion} failed: ${outcome.error}`);
      }
      outcomes.push(outcome);
    }
    return outcomes;
  }

  /** The node's data-sync phase: it becomes ready only once every type it concerns matches. */
  async syncJoiningNode(row: NodeRow): Promise<void> {
    const outcomes = await this.reconcileNode(toClusterNode(row), 'data synchronisation');
    const failed = outcomes.filter((o): o is Extract<ReconcileOutcome, { result: 'failed' }> => o.result === 'failed');
    if (failed.length > 0) throw new InternalError(`system data: ${failed.map((o) => `${o.type}: ${o.error}`).join('; ')}`);
  }

  /** Compares every ready node's digests with the parent's and repairs what drifted. One at a time. */
  checkAll(): Promise<ReconcileOutcome[]> {
    this.checking ??= (async () => {
      try {
        const rows = await this.deps.nodeRows();
        await this.deps.repo.resolveDesyncsOfMissingNodes(rows.map((r) => r.id));
        const ready = rows.map(toClusterNode).filter(isReady);
        const perNode = await Promise.all(ready.map((node) => this.reconcileNode(node, 'periodic check')));
        return perNode.flat();
      } finally {
        this.checking = undefined;
      }
    })();
    return this.checking;
  }

  startPeriodicCheck(intervalMs: number): void {
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      await this.checkAll().catch((error: unknown) => this.log('system data check failed', { error: describe(error) }));
      if (!this.stopped) this.checkTimer = setTimeout(() => void tick(), intervalMs);
    };
    this.checkTimer = setTimeout(() => void tick(), intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.checkTimer) clearTimeout(this.checkTimer);
    await this.checking?.catch(() => undefined);
  }

  /** Per type and target node: in sync, or de-synced since when and why. */
  async status(): Promise<TypeSyncStatus[]> {
    const nodes = (await this.deps.nodeRows()).map(toClusterNode);
    const open = await this.deps.repo.openDesyncs();
    return Promise.all(
      SYNC_PRIORITY.map(async (type) => {
        const items = await this.deps.repo.list(type);
        return {
          type,
          items: items.length,
          digest: digest(items),
          policyPercent: await this.policyPercent(type),
          nodes: targetsOf(type, nodes).map((node) => {
            const desync = open.find((d) => d.node_id === node.row.id && d.type === type);
            return {
              node: node.alias,
              nodeStatus: node.status,
              inSync: desync === undefined,
              since: desync ? new Date(desync.since).toISOString() : null,
              reason: desync?.reason ?? null,
            };
          }),
        };
      }),
    );
  }
}
