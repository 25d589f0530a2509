/**
 * Writing a daemon's rendered files as one change: each file atomically and only when its
 * contents differ, remembering what was there so a refused configuration can be put back.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../core/files.ts';

export interface RenderedFile {
  path: string;
  contents: string;
  mode: number;
}

export interface WrittenFiles {
  changedPaths: string[];
  /** Puts every changed file back as it was (removing the ones that did not exist). */
  restore(): void;
}

export function writeRenderedFiles(files: RenderedFile[]): WrittenFiles {
  const previous = new Map<string, string | undefined>();
  for (const file of files) {
    const before = existsSync(file.path) ? readFileSync(file.path, 'utf8') : undefined;
    if (before === file.contents) continue;
    previous.set(file.path, before);
    writeFileAtomic(file.path, file.contents, file.mode);
  }
  return {
    changedPaths: [...previous.keys()],
    restore() {
      for (const [path, before] of previous) {
        const mode = files.find((f) => f.path === path)?.mode ?? 0o644;
        if (before === undefined) rmSync(path, { force: true });
        else writeFileAtomic(path, before, mode);
      }
    },
  };
}
