/**
 * Runs tasks that share a key one after another. A workload's state on a node is computed from
 * the store and pushed whole, so two pushes to one node (or one zone) must not overtake each
 * other: the one computed first could arrive last and drop the other's change. Likewise a limit
 * check and the insert it guards must not interleave.
 */
export class SerialByKey {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

/** One line of tasks, for a driver whose every change touches the same files and daemon. */
export class SerialQueue {
  private readonly lines = new SerialByKey();

  run<T>(task: () => Promise<T>): Promise<T> {
    return this.lines.run('all', task);
  }
}
