/**
 * The job used by the crash test, shared by the child that is killed and the test that resumes
 * it. Every side effect goes through a ledger keyed by job and step, the way a real step keys
 * its effects (e.g. a mailbox copy keyed by account), so running a step twice applies it once.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { defineJob } from '../../src/jobs/index.ts';
import { ValidationError } from '../../src/core/errors.ts';

export interface CrashJobFiles {
  /** one line per applied side effect: `<job>:<step>:<run|undo>` */
  ledger: string;
  /** one line per time a handler started, applied or not */
  runs: string;
  /** written by the child when it is about to hang, so the test knows when to kill it */
  hangMarker: string;
}

/** 'run': the child hangs in step two's run; 'undo': step three fails and the child hangs in step two's undo. */
export type CrashMode = 'run' | 'undo';

export function readLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

function applyOnce(ledger: string, entry: string): void {
  if (readLines(ledger).includes(entry)) return;
  appendFileSync(ledger, entry + '\n');
}

export function crashJob(files: CrashJobFiles, mode: CrashMode, hang: boolean) {
  const hangForever = async (): Promise<never> => {
    writeFileSync(files.hangMarker, String(process.pid));
    return new Promise<never>(() => setInterval(() => undefined, 60_000));
  };
  const step = (name: string) => ({
    name,
    async run(_ctx: unknown, job: { id: number }) {
      appendFileSync(files.runs, `${job.id}:${name}:run\n`);
      if (mode === 'undo' && name === 'three') throw new ValidationError('three', 'refused on purpose');
      applyOnce(files.ledger, `${job.id}:${name}:run`);
      if (hang && mode === 'run' && name === 'two') await hangForever();
      return { [`${name}Done`]: true };
    },
    async undo(_ctx: unknown, job: { id: number }) {
      appendFileSync(files.runs, `${job.id}:${name}:undo\n`);
      if (readLines(files.ledger).includes(`${job.id}:${name}:run`)) applyOnce(files.ledger, `${job.id}:${name}:undo`);
      if (hang && mode === 'undo' && name === 'two') await hangForever();
    },
  });
  return defineJob({ type: 'test.crash', onFailure: 'undo', steps: [step('one'), step('two'), step('three')] });
}
