/**
 * The access log the agent makes for a site, in a folder the account owns: whatever the account
 * put at that path, no file but the log itself is handed to nginx's workers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { NginxDriver } from '../../src/web/nginx.driver.ts';
import { ensureSiteAccessLogs } from '../../src/web/site-access-logs.ts';
import { DEFAULT_PHP_SETTINGS } from '../../src/php/php-settings.ts';
import { lookupUser } from '../../src/php/system-users.ts';
import { TEST_NET } from '../test-net.ts';

describe("a site's access log", () => {
  let workDir: string;
  let layout: NodeLayout;
  let nginx: NginxDriver;
  const worker = process.getuid?.() === 0 ? 'www-data' : undefined;

  before(() => {
    workDir = mkdtempSync(join(tmpdir(), 'fleet-access-logs-'));
    layout = new NodeLayout(join(workDir, 'node'));
    nginx = new NginxDriver({ layout, address: `${TEST_NET}.22.10`, log: () => undefined });
  });
  after(() => rmSync(workDir, { recursive: true, force: true }));

  const site = (account: string) => {
    const logDir = layout.www(account, 'logs');
    mkdirSync(logDir, { recursive: true });
    const domain = `${account}.test`;
    return { domain, account, suspended: false, documentRoot: layout.www(account, domain, 'public_html'), php: { socket: layout.run('php', `${account}.sock`), logDir, settings: DEFAULT_PHP_SETTINGS } };
  };

  it("is made the workers' file, readable by the folder's group", () => {
    const ann = site('ann');
    ensureSiteAccessLogs([ann], nginx.paths, worker);
    const log = statSync(join(ann.php.logDir, 'ann.test.access.log'));
    assert.equal(log.isFile(), true);
    assert.equal(log.mode & 0o777, 0o640);
    if (worker) assert.equal(log.uid, lookupUser(worker)!.uid);
  });

  it('replaces a link the account put there instead of handing over the file it points to', () => {
    const bob = site('bob');
    const system = join(workDir, 'system-file');
    writeFileSync(system, 'not the workers\'\n', { mode: 0o600 });
    const before = statSync(system);
    const path = join(bob.php.logDir, 'bob.test.access.log');
    symlinkSync(system, path);
    ensureSiteAccessLogs([bob], nginx.paths, worker);
    assert.equal(statSync(system).uid, before.uid);
    assert.equal(statSync(system).mode, before.mode);
    assert.equal(readFileSync(system, 'utf8'), 'not the workers\'\n');
    assert.equal(lstatSync(path).isSymbolicLink(), false, 'a file of its own now');
    if (worker) assert.equal(statSync(path).uid, lookupUser(worker)!.uid);
  });

  it('replaces a pipe without waiting on it, and leaves a folder there alone', () => {
    const carol = site('carol');
    execFileSync('mkfifo', [join(carol.php.logDir, 'carol.test.access.log')]);
    const dave = site('dave');
    mkdirSync(join(dave.php.logDir, 'dave.test.access.log'));
    ensureSiteAccessLogs([carol, dave], nginx.paths, worker);
    assert.equal(statSync(join(carol.php.logDir, 'carol.test.access.log')).isFile(), true);
    assert.equal(statSync(join(dave.php.logDir, 'dave.test.access.log')).isDirectory(), true);
  });
});
