import { mkdirSync, renameSync, writeFileSync, existsSync, readFileSync, openSync, fsyncSync, closeSync, chownSync, readSync, statSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes a file so that a reader (or a daemon reloading) sees either the old or the new
 * contents, never half of one: temp file in the same folder, fsync, rename. A `group` is given
 * to the temp file before the rename, so no reader of that group ever finds the file closed to it.
 */
export function writeFileAtomic(path: string, contents: string | Buffer, mode = 0o644, group?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(tmp, contents, { mode });
  if (group !== undefined) chownSync(tmp, -1, group);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Writes only when the contents differ; returns whether the file changed (so reloads can be skipped). */
export function writeIfChanged(path: string, contents: string, mode = 0o644, group?: number): boolean {
  if (existsSync(path) && readFileSync(path, 'utf8') === contents) return false;
  writeFileAtomic(path, contents, mode, group);
  return true;
}

export function readJsonFile<T>(path: string, fallback: T): T {
  if (!existsSync(path)) return fallback;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** What a log file gained past `offset` (empty when it is gone or was rotated shorter). */
export function readFrom(path: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const length = statSync(path).size - offset;
    if (length <= 0) return '';
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, offset);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
