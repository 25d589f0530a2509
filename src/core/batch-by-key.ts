/**
 * Coalesces the changes that reach one key (a node) close together into one application. A
 * workload's state on a node is derived from the store when it is pushed, so one push carries
 * every change written before it started: while a push to a node is under way, the changes that
 * arrive wait together and go out as the next push, with one check and one reload of each
 * daemon instead of one per change. Every caller learns the outcome of the push that carried its
 * change, and only of that push: a refused batch fails every change in it, and no caller is
 * answered before its batch was applied.
 *
 * A change may name a conflict key (the account it overrides before the store says so): two
 * changes with the same conflict key never share a batch, so the later one still goes out after
 * the earlier one, as it would one at a time.
 */
interface Batch<R, T> {
  readonly requests: R[];
  readonly conflictKeys: Set<string>;
  readonly waiters: { resolve: (value: T) => void; reject: (error: unknown) => void }[];
}

interface Line<R, T> {
  running: boolean;
  /** Batches not started yet, oldest first; only the last one takes new requests. */
  readonly queued: Batch<R, T>[];
}

export class BatchByKey<R, T> {
  private readonly lines = new Map<string, Line<R, T>>();

  /** `apply` gets every request of a batch, in arrival order, and applies them as one change. */
  constructor(private readonly apply: (key: string, requests: readonly R[]) => Promise<T>) {}

  run(key: string, request: R, conflictKey?: string): Promise<T> {
    let line = this.lines.get(key);
    if (!line) {
      line = { running: false, queued: [] };
      this.lines.set(key, line);
    }
    let batch = line.queued.at(-1);
    if (!batch || (conflictKey !== undefined && batch.conflictKeys.has(conflictKey))) {
      batch = { requests: [], conflictKeys: new Set(), waiters: [] };
      line.queued.push(batch);
    }
    batch.requests.push(request);
    if (conflictKey !== undefined) batch.conflictKeys.add(conflictKey);
    const outcome = new Promise<T>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (!line.running) void this.drain(key, line);
    return outcome;
  }

  private async drain(key: string, line: Line<R, T>): Promise<void> {
    line.running = true;
    // Lets the callers of this same turn join the first batch too.
    await Promise.resolve();
    for (let batch = line.queued.shift(); batch; batch = line.queued.shift()) {
      try {
        const value = await this.apply(key, batch.requests);
        for (const waiter of batch.waiters) waiter.resolve(value);
      } catch (error) {
        for (const waiter of batch.waiters) waiter.reject(error);
      }
    }
    line.running = false;
    if (this.lines.get(key) === line) this.lines.delete(key);
  }
}
