/**
 * Synchronizers bring a node's system data back in line with the parent's after a de-sync (the
 * node was not ready during a change, an undo failed, or someone edited the node by hand). The
 * parent's list is the authority: when the node's digest differs, the full list is pushed.
 * Types run in a fixed priority: the firewall first (it decides what can reach the node at all),
 * then the mail lists, then the scheduler. Pure logic: I/O goes through the ports passed in.
 */
import { digest } from './digest.ts';
import { concernsNode, type SysdataNode } from './targets.ts';
import { SYSTEM_DATA_TYPES, type SystemDataItem, type SystemDataType } from '../protocol/sysdata-items.ts';

export const SYNC_PRIORITY: readonly SystemDataType[] = ['firewall', 'whitelist', 'blacklist', 'scheduler'];

export interface SynchronizerPorts<T extends SystemDataType, N extends SysdataNode = SysdataNode> {
  /** The parent's current list of the type. */
  parentList(): Promise<readonly SystemDataItem<T>[]>;
  /** The digest of what the node holds now (its driver's read(), digested on the node). */
  nodeDigest(node: N): Promise<string>;
  /** Makes the node hold exactly `list` (the agent applies and verifies). */
  push(node: N, list: readonly SystemDataItem<T>[]): Promise<void>;
}

export type ReconcileOutcome =
  | { type: SystemDataType; node: string; result: 'in-sync'; digest: string }
  | { type: SystemDataType; node: string; result: 'pushed'; from: string; to: string }
  | { type: SystemDataType; node: string; result: 'failed'; error: string };

export class Synchronizer<T extends SystemDataType, N extends SysdataNode = SysdataNode> {
  readonly priority: number;

  constructor(
    readonly type: T,
    private readonly ports: SynchronizerPorts<T, N>,
  ) {
    this.priority = SYNC_PRIORITY.indexOf(type);
  }

  /** Compares digests and pushes the parent's full list when they differ. Throws when a port fails. */
  async reconcile(node: N): Promise<ReconcileOutcome> {
    const list = await this.ports.parentList();
    const expected = digest(list);
    const actual = await this.ports.nodeDigest(node);
    if (actual === expected) return { type: this.type, node: node.alias, result: 'in-sync', digest: expected };
    await this.ports.push(node, list);
    return { type: this.type, node: node.alias, result: 'pushed', from: actual, to: expected };
  }
}

/** Holds exactly one synchronizer per type; a missing or doubled one is a start-up error. */
export class SynchronizerRegistry<N extends SysdataNode = SysdataNode> {
  private readonly byType: ReadonlyMap<SystemDataType, Synchronizer<SystemDataType, N>>;

  constructor(synchronizers: readonly Synchronizer<SystemDataType, N>[]) {
    const byType = new Map<SystemDataType, Synchronizer<SystemDataType, N>>();
    const doubled = new Set<SystemDataType>();
    for (const synchronizer of synchronizers) {
      if (byType.has(synchronizer.type)) doubled.add(synchronizer.type);
      byType.set(synchronizer.type, synchronizer);
    }
    const missing = SYSTEM_DATA_TYPES.filter((type) => !byType.has(type));
    if (missing.length > 0 || doubled.size > 0) {
      const problems = [
        ...(missing.length > 0 ? [`no synchronizer for ${missing.join(', ')}`] : []),
        ...(doubled.size > 0 ? [`more than one synchronizer for ${[...doubled].join(', ')}`] : []),
      ];
      throw new Error(`system-data synchronizers are misconfigured: ${problems.join('; ')}`);
    }
    this.byType = byType;
  }

  get(type: SystemDataType): Synchronizer<SystemDataType, N> {
    return this.byType.get(type)!;
  }

  /** In priority order: firewall, whitelist, blacklist, scheduler. */
  ordered(): Synchronizer<SystemDataType, N>[] {
    return [...this.byType.values()].sort((a, b) => a.priority - b.priority);
  }

  /**
   * Reconciles every type the node concerns, one after the other in priority order. A failing
   * type does not stop the others (one broken list must not leave the rest out of date); its
   * outcome says 'failed' and its de-sync stays registered.
   */
  async reconcileNode(node: N): Promise<ReconcileOutcome[]> {
    const outcomes: ReconcileOutcome[] = [];
    for (const synchronizer of this.ordered()) {
      if (!concernsNode(synchronizer.type, node)) continue;
      try {
        outcomes.push(await synchronizer.reconcile(node));
      } catch (error) {
        outcomes.push({ type: synchronizer.type, node: node.alias, result: 'failed', error: error instanceof Error ? error.message : String(error) });
      }
    }
    return outcomes;
  }
}
