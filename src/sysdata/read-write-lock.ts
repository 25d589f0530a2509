/**
 * Many readers or one writer, writers first. Synchronizers are readers (they push the parent's
 * list, and any number may do so at once); a change is the writer, so a synchronizer can never
 * push a list that a change is replacing at that moment.
 */
interface Waiter {
  write: boolean;
  resolve: () => void;
}

export class ReadWriteLock {
  private readers = 0;
  private writing = false;
  private readonly waiting: Waiter[] = [];

  read<T>(work: () => Promise<T>): Promise<T> {
    return this.hold(false, work);
  }

  write<T>(work: () => Promise<T>): Promise<T> {
    return this.hold(true, work);
  }

  private async hold<T>(write: boolean, work: () => Promise<T>): Promise<T> {
    await this.acquire(write);
    try {
      return await work();
    } finally {
      if (write) this.writing = false;
      else this.readers--;
      this.wakeWaiters();
    }
  }

  private acquire(write: boolean): Promise<void> {
    // A queued writer keeps new readers out, so a stream of checks cannot starve a change.
    if (this.waiting.length === 0 && !this.writing && (!write || this.readers === 0)) {
      if (write) this.writing = true;
      else this.readers++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push({ write, resolve }));
  }

  private wakeWaiters(): void {
    while (this.waiting.length > 0 && !this.writing) {
      const next = this.waiting[0]!;
      if (next.write) {
        if (this.readers > 0) return;
        this.waiting.shift();
        this.writing = true;
        next.resolve();
        return;
      }
      this.waiting.shift();
      this.readers++;
      next.resolve();
    }
  }
}
