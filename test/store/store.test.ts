/**
 * The store behaves the same on SQLite (the default) and PostgreSQL: the same migrations, the
 * same node repository round trips, the same settings. Each run uses a throw-away SQLite file and
 * a throw-away PostgreSQL database (127.0.0.1:5432, trust auth), dropped afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchPostgres, openStore, sql, type OpenedStore } from '../../src/store/database.ts';
import { NodesRepository, toNodeView } from '../../src/nodes/nodes.repository.ts';

const POSTGRES_ADMIN_URL = process.env.FLEETPANEL_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Backend {
  name: string;
  open(): Promise<{ url: string; cleanup(): Promise<void> }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'SQLite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'fleetpanel-store-'));
      return { url: join(dir, 'store.sqlite'), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const scratch = await createScratchPostgres(POSTGRES_ADMIN_URL, 'fleetpanel_store_test');
      return { url: scratch.url, cleanup: () => scratch.drop() };
    },
  },
];

const sampleNode = {
  alias: 'mail-1',
  host: '192.0.2.10',
  agentPort: 7443,
  profile: 'MAIL',
  roles: ['mail'],
  status: 'installing',
  isLocal: false,
  fingerprint: null,
  tlsVerified: false,
  agentVersion: null,
} as const;

for (const backend of BACKENDS) {
  describe(`store on ${backend.name}`, () => {
    let target: { url: string; cleanup(): Promise<void> };
    let store: OpenedStore;
    let nodes: NodesRepository;

    before(async () => {
      target = await backend.open();
      store = await openStore(target.url);
      nodes = new NodesRepository(store.db);
    });
    after(async () => {
      await store?.close();
      await target?.cleanup();
    });

    test('migrations create the tables once; opening the store again changes nothing', async () => {
      assert.equal(store.dialect, backend.name === 'SQLite' ? 'sqlite' : 'postgres');
      const tables = (await store.db.introspection.getTables()).map((t) => t.name);
      for (const table of ['nodes', 'node_events', 'settings', 'users']) assert.ok(tables.includes(table), `table ${table}`);
      const applied = async (): Promise<string[]> =>
        (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db)).rows.map((r) => r.name);
      const first = await applied();
      assert.ok(first.includes('001-nodes'));
      assert.deepEqual(first, [...first].sort(), 'migrations ran in name order');
      const reopened = await openStore(target.url);
      await reopened.close();
      assert.deepEqual(await applied(), first);
    });

    test('a node round-trips through the repository with its status history', async () => {
      const inserted = await nodes.insert({ ...sampleNode, roles: [...sampleNode.roles] });
      assert.equal(typeof inserted.id, 'number');
      assert.equal((await nodes.byAlias('mail-1'))?.id, inserted.id);
      assert.equal((await nodes.byEndpoint('192.0.2.10', 7443))?.alias, 'mail-1');
      assert.equal(await nodes.byEndpoint('192.0.2.10', 7444), undefined);

      await nodes.setStatus(inserted.id, 'installing', 'step 1/8 create the admin user fleetmaster: created fleetmaster');
      await nodes.markLinked(inserted.id, 'sha256:abc', true, '0.1.0');
      await nodes.setStatus(inserted.id, 'assigning_roles', 'installed over SSH');
      await nodes.recordCheck(inserted.id, true, { version: '0.1.1', services: [{ name: 'dovecot', running: true }] });
      await nodes.setProfile(inserted.id, 'STANDARD', ['dns', 'mail']);

      const view = toNodeView((await nodes.byId(inserted.id))!);
      assert.equal(view.status, 'assigning_roles');
      assert.equal(view.statusLabel, 'assigning roles');
      assert.equal(view.statusDetail, 'installed over SSH');
      assert.equal(view.tlsVerified, true);
      assert.equal(view.agentVersion, '0.1.1');
      assert.deepEqual(view.services, [{ name: 'dovecot', running: true }]);
      assert.deepEqual(view.roles, ['dns', 'mail']);
      assert.equal(view.profile, 'STANDARD');
      assert.ok(view.lastCheckAt && !Number.isNaN(Date.parse(view.lastCheckAt)), 'epoch milliseconds come back as numbers');

      const events = await nodes.events(inserted.id);
      assert.deepEqual(
        events.map((e) => e.status),
        ['assigning_roles', 'installing'],
        'newest first',
      );
      assert.equal(typeof events[0]!.at, 'number');

      await nodes.recordCheck(inserted.id, false);
      assert.equal((await nodes.byId(inserted.id))!.agent_version, '0.1.1', 'a failed check keeps what the last good one saw');

      await assert.rejects(nodes.insert({ ...sampleNode, roles: ['mail'] }), 'aliases are unique in the store too');

      await nodes.remove(inserted.id);
      assert.equal(await nodes.byAlias('mail-1'), undefined);
      assert.deepEqual(await nodes.events(inserted.id), [], 'events go with their node');
    });

    test('settings are stored, read back and overwritten', async () => {
      assert.equal(await nodes.getSetting('parent_id'), undefined);
      await nodes.setSetting('parent_id', 'first');
      assert.equal(await nodes.getSetting('parent_id'), 'first');
      await nodes.setSetting('parent_id', 'second');
      assert.equal(await nodes.getSetting('parent_id'), 'second');
      const rows = await store.db.selectFrom('settings').selectAll().where('key', '=', 'parent_id').execute();
      assert.equal(rows.length, 1);
    });
  });
}
