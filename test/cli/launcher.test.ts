/**
 * ./fleetpanel runs the compiled build and never a stale one: on a copy of the checkout, the first
 * start builds, concurrent starts build once, an unchanged tree starts without building, and a
 * saved source file (or a new one) makes the next start build again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/demo/processes.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function launch(checkout: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(join(checkout, 'fleetpanel'), args, { env: { ...process.env, NODE_OPTIONS: '' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Every build is a folder of its own (dist/cli-<time>-<pid>), so counting them counts builds. */
const buildsIn = (checkout: string): number => readdirSync(join(checkout, 'dist')).filter((entry) => entry.startsWith('cli-')).length;

test('the launcher builds once for concurrent starts, not when current, and again after a source change', async (t) => {
  const checkout = mkdtempSync(join(tmpdir(), 'fleetpanel-launcher-'));
  t.after(() => rmSync(checkout, { recursive: true, force: true }));
  for (const entry of ['fleetpanel', 'package.json', 'src', 'scripts']) cpSync(join(REPO_ROOT, entry), join(checkout, entry), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(checkout, 'node_modules'));
  const version = (JSON.parse(readFileSync(join(checkout, 'package.json'), 'utf8')) as { version: string }).version;

  const first = await Promise.all([1, 2, 3].map(() => launch(checkout, ['--version'])));
  for (const run of first) {
    assert.equal(run.stdout.trim(), version, run.stderr);
    assert.equal(run.stderr, '', 'building prints nothing: the output is the command\'s own');
  }
  assert.equal(buildsIn(checkout), 1, 'three concurrent starts build exactly once');

  const again = await launch(checkout, ['--version']);
  assert.equal(again.stdout.trim(), version);
  assert.equal(buildsIn(checkout), 1, 'an unchanged tree starts without building');

  // A saved file: the compiled CLI must show the change at once.
  const mainFile = join(checkout, 'src', 'cli', 'main.ts');
  writeFileSync(mainFile, readFileSync(mainFile, 'utf8').replace(".name('fleetpanel')", ".name('fleetpanel-edited')"));
  const edited = await launch(checkout, ['--help']);
  assert.equal(buildsIn(checkout), 2, 'a saved source file is rebuilt before the start');
  assert.match(edited.stdout, /Usage: fleetpanel-edited/);

  // A new file is newer than the build as well (and so is its folder).
  writeFileSync(join(checkout, 'src', 'core', 'new-module.ts'), 'export const NOTHING = 0;\n');
  const added = await launch(checkout, ['--version']);
  assert.equal(added.code, 0, added.stderr);
  assert.equal(buildsIn(checkout), 3, 'a new source file is seen');
});
