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
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { killInstance, runningPid, waitFor } from '../../src/agent/daemon-process.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { NginxDriver } from '../../src/web/nginx.driver.ts';
import { WebService, type WebStateRequest } from '../../src/web/web.service.ts';
import type { SiteRow } from '../../src/web/web.repository.ts';
import type { NodeRow } from '../../src/nodes/nodes.repository.ts';
import type { AccountRecord } from '../../src/accounts/account.model.ts';
import { probe } from './http-probe.ts';
import { TEST_NET } from '../test-net.ts';

const ADDRESS = `${TEST_NET}.71.2`;
/** Where another process holds a port, for the configuration nginx cannot take at reload. */
const TAKEN = { host: `${TEST_NET}.71.3`, port: 8071 };
const node = { id: 1, alias: 'web1', roles: ['web'] } as NodeRow;
const account = (username: string): AccountRecord => ({ username, domain: `${username}.test`, suspended: false }) as AccountRecord;

describe('a batch whose nginx reload fails', () => {
  let workDir: string;
  let nginx: NginxDriver;
  /** The store: what sitesOnNode answers. */
  const stored: SiteRow[] = [];
  const pushes: WebStateRequest[] = [];
  let web: WebService;

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'fleet-web-reload-'));
    chmodSync(workDir, 0o755);
    nginx = new NginxDriver({ layout: new NodeLayout(join(workDir, 'node')), address: ADDRESS, log: () => undefined });
    await nginx.start();
    web = new WebService(
      { sitesOnNode: async () => stored.map((site) => ({ ...site })), httpsRedirect: async () => false, setHttpsRedirect: async () => undefined },
      {
        async putState(_node, state) {
          pushes.push(state);
          const sites = state.sites.map((site) => ({ ...site, documentRoot: nginx.ensureDocumentRoot(site.account, site.domain) }));
          await nginx.apply({ sites, proxies: state.proxies });
        },
        async removeAccountData() {},
      },
    );
    await create('ann');
  });

  after(async () => {
    const pid = runningPid(nginx.paths.pidFile);
    if (pid !== undefined) process.kill(pid, 'SIGCONT');
    await nginx?.stop();
    await killInstance(pid);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  /** As the accounts service does: the row first, then the workload's push. */
  const create = (username: string): Promise<void> => {
    stored.push({ account: username, domain: `${username}.test`, suspended: false, httpsRedirect: false });
    return web.provision(account(username), node);
  };

  const served = async (domain: string): Promise<boolean> => {
    const answer = await probe(ADDRESS, domain);
    return answer.kind === 'response' && answer.body.includes(`<h1>${domain}</h1>`);
  };

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
    const pushed = pushes.length;
    const outcomes = await Promise.allSettled(names.map(create));
    assert.equal(pushes.length - pushed, 1, `the ${names.length} changes arrived together and went out as one batch`);
    outcomes.forEach((outcome, index) => {
      assert.equal(outcome.status, 'rejected', `${names[index]} is reported failed, not acknowledged`);
      assert.match(String((outcome as PromiseRejectedResult).reason), reason);
    });
    assert.deepEqual(configFiles(), liveBefore, 'every file of the configuration is the one before the batch');
    for (const name of names) stored.splice(stored.findIndex((site) => site.account === name), 1);
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
