/**
 * What a process last wrote to files it owns, with each file's size and time then: reading one
 * back costs a `stat` while nobody else changed it. A file not remembered (not written since the
 * process started, or forgotten after a write that was undone) or changed since (by another
 * writer, or by hand) is read from disk.
 */
import { readFileSync, statSync } from 'node:fs';

export class RememberedFiles {
  private readonly files = new Map<string, { contents: string; size: number; mtimeMs: number }>();

  /** The file's contents now, or undefined when there is no file. */
  contents(path: string): string | undefined {
    const known = this.files.get(path);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return undefined;
    return known && known.size === stat.size && known.mtimeMs === stat.mtimeMs ? known.contents : readFileSync(path, 'utf8');
  }

  /** Call once `contents` is in place at `path`. */
  remember(path: string, contents: string): void {
    const { size, mtimeMs } = statSync(path);
    this.files.set(path, { contents, size, mtimeMs });
  }

  forget(path: string): void {
    this.files.delete(path);
  }
}
