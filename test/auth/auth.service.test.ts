/**
 * Logins and tokens through AuthService and its repository, on SQLite and PostgreSQL: the same
 * answers on both (throw-away SQLite file, throw-away PostgreSQL database on 127.0.0.1:5432).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchPostgres, openStore, type OpenedStore } from '../../src/store/database.ts';
import { AuthRepository } from '../../src/auth/auth.repository.ts';
import { AuthService } from '../../src/auth/auth.service.ts';
import { ConflictError, ForbiddenError, UnauthenticatedError } from '../../src/core/errors.ts';

const POSTGRES_ADMIN_URL = process.env.FLEETPANEL_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const PASSWORD = 'quartz-lantern-meadow-42';

const BACKENDS: { name: string; open(): Promise<{ url: string; cleanup(): Promise<void> }> }[] = [
  {
    name: 'SQLite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'fleetpanel-auth-'));
      return { url: join(dir, 'store.sqlite'), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const scratch = await createScratchPostgres(POSTGRES_ADMIN_URL, 'fleetpanel_auth_test');
      return { url: scratch.url, cleanup: () => scratch.drop() };
    },
  },
];

for (const backend of BACKENDS) {
  describe(`auth on ${backend.name}`, () => {
    let target: { url: string; cleanup(): Promise<void> };
    let store: OpenedStore;
    let auth: AuthService;

    before(async () => {
      target = await backend.open();
      store = await openStore(target.url);
      auth = new AuthService(new AuthRepository(store.db));
    });
    after(async () => {
      await store?.close();
      await target?.cleanup();
    });

    test('the admin login is created once, with a generated password unless one is given', async () => {
      const generated = await auth.ensureAdmin();
      assert.ok(generated && generated.length >= 16);
      assert.equal(await auth.ensureAdmin(), null);
      assert.equal(await auth.ensureAdmin(PASSWORD), null);
      const session = await auth.login('admin', PASSWORD);
      assert.deepEqual(session.principal, { username: 'admin', role: 'admin' });
      await assert.rejects(auth.login('admin', generated), UnauthenticatedError);
    });

    test('a token authenticates its login until it is revoked or expires; a suspended login is refused', async () => {
      await auth.createLogin('carol', 'user', PASSWORD, 'admin');
      await assert.rejects(auth.createLogin('carol', 'user', PASSWORD, 'admin'), ConflictError);
      const { token } = await auth.login('carol', PASSWORD);
      assert.deepEqual(await auth.authenticate(token), { username: 'carol', role: 'user' });

      await auth.setRole('carol', 'reseller');
      assert.deepEqual(await auth.authenticate(token), { username: 'carol', role: 'reseller' });

      await auth.setSuspended('carol', true);
      await assert.rejects(auth.authenticate(token), ForbiddenError);
      await assert.rejects(auth.login('carol', PASSWORD), ForbiddenError);
      await auth.setSuspended('carol', false);

      const expired = await auth.issueToken('carol', 'old', -1000);
      await assert.rejects(auth.authenticate(expired.token), /expired/);
      const forever = await auth.issueToken('carol', 'billing', null);
      assert.equal(forever.expiresAt, null);
      await auth.revokeToken(token);
      await assert.rejects(auth.authenticate(token), /not valid/);
      assert.equal((await auth.authenticate(forever.token)).username, 'carol');

      await auth.setPassword('carol', 'violet-tugboat-marmalade-91');
      await assert.rejects(auth.login('carol', PASSWORD), UnauthenticatedError);
      await auth.removeLogin('carol');
      await assert.rejects(auth.authenticate(forever.token), /not valid/);
      await assert.rejects(auth.login('carol', 'violet-tugboat-marmalade-91'), UnauthenticatedError);
    });
  });
}
