/**
 * `fleetpanel login` and `fleetpanel logout` against a real parent on loopback, through the
 * compiled CLI with its own context file: the login is saved and used by later commands; logout
 * revokes the session at the parent (DELETE /api/session) and forgets it; an API token saved by
 * `demo up` is forgotten but not revoked; a parent that cannot be reached keeps the login saved.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startParent, type RunningParent } from '../../src/parent/parent.server.ts';
import { CLI_LAUNCHER } from '../../src/demo/processes.ts';
import { TEST_NET } from '../test-net.ts';

const BLOCK = `${TEST_NET}.52`;
const PASSWORD = 'admin-password-of-the-session-test';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('fleetpanel login and logout', () => {
  let dataDir: string;
  let parent: RunningParent;
  let context: string;
  let url: string;

  /** The CLI with only the saved context to go on (no URL or token from the environment). */
  const cli = (args: string[], input?: string): Promise<Run> =>
    new Promise((resolve) => {
      const env: NodeJS.ProcessEnv = { ...process.env, FLEETPANEL_CONTEXT: context, NODE_OPTIONS: '' };
      delete env.FLEETPANEL_URL;
      delete env.FLEETPANEL_TOKEN;
      const child = execFile(CLI_LAUNCHER, args, { env }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
      });
      child.stdin!.end(input ?? '');
    });
  const me = async (token: string): Promise<number> => (await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status;
  const saved = (): { url: string; token: string; session?: boolean } => JSON.parse(readFileSync(context, 'utf8')) as { url: string; token: string; session?: boolean };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fp-cli-session-'));
    context = join(dataDir, 'context.json');
    parent = await startParent({ dataDir: join(dataDir, 'parent'), host: `${BLOCK}.1`, port: 0, name: 'session-test', adminPassword: PASSWORD });
    url = `http://${BLOCK}.1:${(parent.app.server.address() as { port: number }).port}`;
  });

  after(async () => {
    await parent?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('login saves a session that later commands use; logout revokes it at the parent and forgets it', async () => {
    const login = await cli(['--url', url, 'login', '--user', 'admin', '--password-stdin'], PASSWORD);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, new RegExp(`logged in as admin at ${url.replace(/[.]/g, '\\.')}`));
    const { token, session, url: savedUrl } = saved();
    assert.equal(session, true);
    assert.equal(savedUrl, url);
    assert.equal(statSync(context).mode & 0o777, 0o600, 'only its owner reads the saved token');
    assert.equal(await me(token), 200);

    const mine = await cli(['plan', 'list', '--json']);
    assert.equal(mine.code, 0, `the saved login is used without --url or --token: ${mine.stderr}`);

    const logout = await cli(['logout', '--json']);
    assert.equal(logout.code, 0, logout.stderr);
    assert.deepEqual(JSON.parse(logout.stdout), { loggedOut: true, revoked: true, url, context });
    assert.equal(existsSync(context), false, 'the saved login is forgotten');
    assert.equal(await me(token), 401, 'the session is refused by the parent from now on');

    const after = await cli(['plan', 'list']);
    assert.equal(after.code, 2, 'no URL is left to call');
    assert.match(after.stderr, /^fleetpanel: no parent URL: .*fleetpanel login/);

    const again = await cli(['logout']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^not logged in: no saved login in /);
  });

  test('a session that already ended at the parent is still forgotten', async () => {
    assert.equal((await cli(['--url', url, 'login', '--user', 'admin', '--password-stdin'], PASSWORD)).code, 0);
    const { token } = saved();
    const revoked = await fetch(`${url}/api/session`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    assert.equal(revoked.status, 204);
    const logout = await cli(['logout']);
    assert.equal(logout.code, 0, logout.stderr);
    assert.match(logout.stdout, /the session had already ended there/);
    assert.equal(existsSync(context), false);
  });

  test("an API token saved by `demo up` is forgotten, not revoked: other holders of it keep working", async () => {
    const { token } = await parent.services.auth.issueToken('admin', 'demo', null);
    writeFileSync(context, JSON.stringify({ url, token }), { mode: 0o600 });
    const logout = await cli(['logout']);
    assert.equal(logout.code, 0, logout.stderr);
    assert.match(logout.stdout, /forgot the saved API token .* it was not revoked/);
    assert.equal(existsSync(context), false);
    assert.equal(await me(token), 200);
  });

  test('a parent that cannot be reached keeps the login saved, with the unavailable exit code', async () => {
    assert.equal((await cli(['--url', url, 'login', '--user', 'admin', '--password-stdin'], PASSWORD)).code, 0);
    const before = saved();
    // Nothing listens on port 9 of this block.
    writeFileSync(context, JSON.stringify({ ...before, url: `http://${BLOCK}.1:9` }), { mode: 0o600 });
    const logout = await cli(['logout']);
    assert.equal(logout.code, 7, logout.stdout);
    assert.match(logout.stderr, /^fleetpanel: cannot reach the parent at http:\/\//);
    assert.deepEqual(saved(), { ...before, url: `http://${BLOCK}.1:9` }, 'the login is still saved');
    assert.equal(await me(before.token), 200, 'and its session is still open at the parent');
  });
});
