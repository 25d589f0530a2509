/**
 * Writing a daemon's rendered files as one change: each file atomically and only when its
 * contents differ, remembering what was there so a refused configuration can be put back.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { readIfExists, writeFileAtomic } from '../core/files.ts';

export interface RenderedFile {
  path: string;
  contents: string;
  mode: number;
}

/** A daemon's files, and the folders whose every file is rendered (one per domain): a file there that is not rendered any more goes. */
export interface RenderedFiles {
  files: RenderedFile[];
  ownedDirs: string[];
}

export interface WrittenFiles {
  /** Files written or removed. */
  changedPaths: string[];
  /** Puts every changed file back as it was (removing the ones that did not exist). */
  restore(): void;
}

/** Files of an owned folder that the rendering no longer has (atomic writes' dot-prefixed temp files are not theirs to judge). */
function staleFiles(rendered: RenderedFiles): string[] {
  const wanted = new Set(rendered.files.map((f) => f.path));
  return rendered.ownedDirs.flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((name) => !name.startsWith('.'))
          .map((name) => join(dir, name))
          .filter((path) => !wanted.has(path) && statSync(path).isFile())
      : [],
  );
}

/**
 * Writes the file with a modification time at least a second after the one it replaces. Dovecot
 * notices a changed passwd-file by its mtime (whole seconds) and size only: a same-size rewrite
 * within the second (a password of the same length changed twice) would go unseen.
 */
function writeWithNewerMtime(path: string, contents: string, mode: number): void {
  const before = existsSync(path) ? Math.floor(statSync(path).mtimeMs / 1000) : 0;
  writeFileAtomic(path, contents, mode);
  const mtime = Math.max(Math.floor(Date.now() / 1000), before + 1);
  utimesSync(path, mtime, mtime);
}

export function writeRenderedFiles(rendered: RenderedFiles): WrittenFiles {
  const previous = new Map<string, { contents: string | undefined; mode: number }>();
  for (const file of rendered.files) {
    const before = readIfExists(file.path);
    if (before === file.contents) continue;
    previous.set(file.path, { contents: before, mode: file.mode });
    writeWithNewerMtime(file.path, file.contents, file.mode);
  }
  for (const path of staleFiles(rendered)) {
    previous.set(path, { contents: readFileSync(path, 'utf8'), mode: statSync(path).mode & 0o777 });
    rmSync(path, { force: true });
  }
  return {
    changedPaths: [...previous.keys()],
    restore() {
      for (const [path, before] of previous) {
        if (before.contents === undefined) rmSync(path, { force: true });
        else writeWithNewerMtime(path, before.contents, before.mode);
      }
    },
  };
}
