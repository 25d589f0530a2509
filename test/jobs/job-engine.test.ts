/** The journal suite on SQLite (a file in a temporary folder) and on a scratch PostgreSQL database. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, createScratchPostgres } from '../../src/store/database.ts';
import { journalSuite } from './journal-suite.ts';

const POSTGRES_ADMIN_URL = process.env.FLEETPANEL_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';

journalSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-jobs-'));
  const store = await openStore(join(dir, 'fleetpanel.sqlite'));
  return {
    store,
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

journalSuite('PostgreSQL', async () => {
  const probe = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await probe.connect();
  } catch {
    process.stderr.write(`PostgreSQL not reachable at ${POSTGRES_ADMIN_URL}; skipping its journal tests\n`);
    return null;
  } finally {
    await probe.end().catch(() => undefined);
  }
  const scratch = await createScratchPostgres(POSTGRES_ADMIN_URL, 'fp_jobs');
  const store = await openStore(scratch.url);
  return {
    store,
    async dispose() {
      await store.close();
      await scratch.drop();
    },
  };
});
