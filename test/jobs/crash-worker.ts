/**
 * The parent that gets killed: `node --import tsx test/jobs/crash-worker.ts <db> <dir> <mode>`.
 * Queues one crash job, prints its id, and hangs inside step two (or its undo) until SIGKILL.
 */
import { join } from 'node:path';
import { openStore } from '../../src/store/database.ts';
import { JobEngine } from '../../src/jobs/index.ts';
import { crashJob, type CrashMode } from './crash-job.ts';

const [databaseFile, dir, mode] = process.argv.slice(2) as [string, string, CrashMode];
const store = await openStore(databaseFile);
const engine = new JobEngine(store.db, undefined, { pollIntervalMs: 50, backoffBaseMs: 10 });
engine.register(crashJob({ ledger: join(dir, 'ledger'), runs: join(dir, 'runs'), hangMarker: join(dir, 'hanging') }, mode, true));
await engine.start();
const job = await engine.enqueue({ type: 'test.crash', key: 'account:crash' });
process.stdout.write(`${job.id}\n`);
// Stay alive: the hanging step is only a pending promise, which does not keep Node running.
setInterval(() => undefined, 60_000);
