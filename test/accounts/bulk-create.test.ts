/**
 * `fleetpanel account create --from-file` against a parent (recording workload services): the
 * good rows of a CSV file are created, the bad ones refused with their row and field, whether the
 * file or the API finds them bad, and the command exits non-zero naming each.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestParent, RecordingWorkload, STRONG, WEAK, type TestParent } from './parent-fixture.ts';
import { CLI_LAUNCHER } from '../../src/demo/processes.ts';
import { TEST_NET } from '../test-net.ts';

let t: TestParent;
let dir: string;
const mail = new RecordingWorkload('mail');

before(async () => {
  t = await startTestParent(`${TEST_NET}.32.5`);
  for (const service of [new RecordingWorkload('dns'), new RecordingWorkload('web'), mail]) t.parent.services.workloads.replace(service);
  await t.addNode('parent', ['mail', 'web', 'dns'], { local: true });
  dir = mkdtempSync(join(tmpdir(), 'fleetpanel-bulk-'));
});
after(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(CLI_LAUNCHER, ['--url', t.url, '--token', t.adminToken, ...args], { env: { ...process.env, NODE_OPTIONS: '', FLEETPANEL_CONTEXT: join(dir, 'none.json') } }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

test('good rows are created with several in flight, bad rows refused with row and field', async () => {
  const lines = ['username,domain,password'];
  for (let i = 0; i < 24; i++) lines.push(`bulk${i},bulk${i}.example,${STRONG}`);
  lines.push('badrow,not_a_domain,' + STRONG); // line 26: the file's grammar refuses it
  lines.push(`weakpw,weakpw.example,${WEAK}`); // line 27: the API's password policy refuses it
  lines.push(`bulk0,again.example,${STRONG}`); // line 28: the username is taken
  const file = join(dir, 'accounts.csv');
  writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });

  const run = await cli(['account', 'create', '--from-file', file, '--in-flight', '8']);
  assert.notEqual(run.code, 0, 'refused rows make the command fail');
  assert.match(run.stdout, /^row 26 badrow: refused: domain: /m);
  assert.match(run.stdout, /^row 27 weakpw: refused: password: /m);
  assert.match(run.stdout, /^row 28 bulk0: refused: /m);
  assert.match(run.stdout, /^row 2 bulk0: created$/m);
  assert.match(run.stdout, /^24 of 27 account\(s\) created, 3 refused$/m);

  const listed = await t.api<{ accounts: { username: string }[] }>('GET', '/api/accounts', t.adminToken);
  const names = listed.body.accounts.map((a) => a.username);
  for (let i = 0; i < 24; i++) assert.ok(names.includes(`bulk${i}`), `bulk${i} exists`);
  assert.ok(!names.includes('badrow') && !names.includes('weakpw'));
  assert.equal(mail.calls.filter((c) => c.op === 'provision').length, 24, 'each good row provisioned its mail once');
});

test('--json reports every row, and a file of good rows exits 0', async () => {
  const file = join(dir, 'more.jsonl');
  writeFileSync(file, [0, 1, 2].map((i) => JSON.stringify({ username: `json${i}`, domain: `json${i}.example`, password: STRONG })).join('\n') + '\n');
  const run = await cli(['--json', 'account', 'create', '--from-file', file]);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { created: number; rows: { row: number; result: string }[] };
  assert.equal(report.created, 3);
  assert.deepEqual(report.rows.map((r) => [r.row, r.result]), [[1, 'created'], [2, 'created'], [3, 'created']]);
});
