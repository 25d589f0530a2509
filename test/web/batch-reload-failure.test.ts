/**
 * A batch whose nginx check passed but whose reload fails: every change of it is reported failed,
 * none is acknowledged, and nginx keeps the configuration it had (the files on disk are the
 * previous ones and the previous sites are what it serves). The parent's WebService (its real
 * batching) in front of a real nginx on <TEST_NET>.71.2, the node's half done in-process as the
 * agent does it (document roots, then NginxDriver.apply), as in batch-refusal.test.ts. Three ways a reload
 * fails: the master is stopped (SIGSTOP), the master is gone, and the master itself gives up on
 * the new configuration (a listen address another process holds: `nginx -t` binds nothing).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { killInstance, runningPid, waitFor } from '../../src/agent/daemon-process.ts';
import { WebBatchFixture } from './web-batch-fixture.ts';
import { TEST_NET } from '../test-net.ts';
import { expectOneFailedBatch } from '../batch-failure.ts';

/** Where another process holds a port, for the configuration nginx cannot take at reload. */
const TAKEN = { host: `${TEST_NET}.71.3`, port: 8071 };

describe('a batch whose nginx reload fails', () => {
  let fixture: WebBatchFixture;
  let nginx: WebBatchFixture['nginx'];
  const create = (username: string): Promise<void> => fixture.create(username);
  const served = (domain: string): Promise<boolean> => fixture.served(domain);

  before(async () => {
    fixture = new WebBatchFixture(`${TEST_NET}.71.2`, 'fleet-web-reload-');
    nginx = fixture.nginx;
    await fixture.start();
    await create('ann');
  });

  after(async () => {
    // A master a test left stopped is continued so it can stop; one the driver lost track of goes by its PID.
    const pid = fixture && runningPid(fixture.nginx.paths.pidFile);
    if (pid !== undefined) process.kill(pid, 'SIGCONT');
    await fixture?.close(pid);
  });

  /**
   * Creates `names` together and expects their one batch to fail whole, with the live file left as
   * it was; the accounts service then removes the rows of the changes that failed.
   */
  /** Every file of the instance's configuration folder, with its contents: whatever files the driver renders to, none may keep a refused change. */
  const configFiles = (): Map<string, string> => {
    const files = new Map<string, string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else files.set(path, readFileSync(path, 'utf8'));
      }
    };
    walk(dirname(nginx.configFile));
    return files;
  };

  async function expectBatchFails(names: string[], reason: RegExp): Promise<void> {
    const liveBefore = configFiles();
    await expectOneFailedBatch(names, create, () => fixture.pushes.length, reason);
    assert.deepEqual(configFiles(), liveBefore, 'every file of the configuration is the one before the batch');
    for (const name of names) fixture.stored.splice(fixture.stored.findIndex((site) => site.account === name), 1);
  }

  async function expectServesOnlyTheOld(refused: string[]): Promise<void> {
    assert.equal(await served('ann.test'), true, 'the previous site is still served');
    for (const name of refused) assert.equal(await served(`${name}.test`), false, `${name}.test is not served`);
  }

  it('fails the batch while the master is stopped, and the continued master still serves the previous configuration', async () => {
    const master = runningPid(nginx.paths.pidFile)!;
    process.kill(master, 'SIGSTOP');
    try {
      await expectBatchFails(['stopped0', 'stopped1', 'stopped2'], /nginx did not reload: its master process \d+ is stopped/);
    } finally {
      process.kill(master, 'SIGCONT');
    }
    await expectServesOnlyTheOld(['stopped0', 'stopped1', 'stopped2']);
    // The continued master had no reload pending: the next change is the only one it takes.
    await create('bob');
    assert.equal(await served('bob.test'), true);
    await expectServesOnlyTheOld(['stopped0', 'stopped1', 'stopped2']);
  });

  it('fails the batch when the master refuses the new configuration at reload, keeping the old one in force', async () => {
    // `nginx -t` passes (it binds nothing); the master cannot bind the address at reload and keeps its old configuration.
    const holder: Server = createServer();
    await new Promise<void>((resolve, reject) => holder.once('error', reject).listen(TAKEN.port, TAKEN.host, resolve));
    const extra = join(nginx.paths.extraServersDir, 'taken.conf');
    mkdirSync(nginx.paths.extraServersDir, { recursive: true });
    writeFileSync(extra, `server { listen ${TAKEN.host}:${TAKEN.port}; return 204; }\n`);
    try {
      await expectBatchFails(['taken0', 'taken1', 'taken2'], /nginx did not reload: .*\[emerg\].*bind\(\) to [0-9.]+:8071 failed/);
      await expectServesOnlyTheOld(['taken0', 'taken1', 'taken2']);
    } finally {
      rmSync(extra, { force: true });
      holder.close();
    }
    await create('cat');
    assert.equal(await served('cat.test'), true);
    await expectServesOnlyTheOld(['taken0', 'taken1', 'taken2']);
  });

  it('fails the batch when the master is gone; started again, nginx serves the previous configuration', async () => {
    await killInstance(runningPid(nginx.paths.pidFile));
    await waitFor(() => runningPid(nginx.paths.pidFile) === undefined, 10_000, 'nginx to be gone');
    await expectBatchFails(['gone0', 'gone1'], /nginx did not reload: its master process is not running/);
    // What the watchdog does: it starts nginx again, from the file on disk.
    await nginx.start();
    await expectServesOnlyTheOld(['gone0', 'gone1']);
    assert.equal(await served('bob.test'), true);
    await create('dan');
    assert.equal(await served('dan.test'), true);
  });
});
