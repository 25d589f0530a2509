/**
 * Changes that reach one node close together go out as one batch (one nginx check and reload for
 * all), and a batch the daemon refuses fails every change in it: the parent's WebService (its
 * real batching) in front of a real nginx on <TEST_NET>.48.2, the node's half done in-process as
 * the agent does it (document roots, then NginxDriver.apply). nginx is made to refuse every new
 * configuration by a broken file in the folder its nginx.conf includes, so the refusal is nginx's
 * own `nginx -t`, and the live configuration must stay what it was.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { NginxDriver } from '../../src/web/nginx.driver.ts';
import { WebService, type WebStateRequest } from '../../src/web/web.service.ts';
import type { SiteRow } from '../../src/web/web.repository.ts';
import type { NodeRow } from '../../src/nodes/nodes.repository.ts';
import type { AccountRecord } from '../../src/accounts/account.model.ts';
import { probe } from './http-probe.ts';
import { TEST_NET } from '../test-net.ts';

const ADDRESS = `${TEST_NET}.48.2`;
const node = { id: 1, alias: 'web1', roles: ['web'] } as NodeRow;
const account = (username: string): AccountRecord => ({ username, domain: `${username}.test`, suspended: false }) as AccountRecord;

describe('batched web changes against a real nginx', () => {
  let workDir: string;
  let nginx: NginxDriver;
  /** The store: what sitesOnNode answers. */
  const stored: SiteRow[] = [];
  const pushes: WebStateRequest[] = [];
  let web: WebService;

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'fleet-web-batch-'));
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
  });

  after(async () => {
    await nginx?.stop();
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

  it('applies changes that arrive together in fewer pushes than changes, each answered after its reload', async () => {
    await create('ann');
    const before = pushes.length;
    const names = Array.from({ length: 6 }, (_, i) => `batch${i}`);
    await Promise.all(names.map(create));
    const used = pushes.length - before;
    assert.ok(used <= 2, `6 changes arrived together and went out in ${used} pushes (at most 2: one under way, one for the rest)`);
    for (const name of ['ann', ...names]) assert.equal(await served(`${name}.test`), true, `${name}.test is served once its change was answered`);
  });

  it('fails every change of a batch nginx refuses, acknowledges none, and keeps the previous configuration', async () => {
    const liveBefore = nginx.liveConfiguration();
    // A server block nginx refuses at `nginx -t`; the running master read its config before it came.
    mkdirSync(nginx.paths.extraServersDir, { recursive: true });
    const broken = join(nginx.paths.extraServersDir, 'broken.conf');
    writeFileSync(broken, 'server { listen 80; not_a_directive on; }\n');

    const names = ['refused0', 'refused1', 'refused2', 'refused3'];
    const pushed = pushes.length;
    const outcomes = await Promise.allSettled(names.map(create));
    assert.equal(pushes.length - pushed, 1, 'the four changes arrived together and went out as one batch');
    outcomes.forEach((outcome, index) => {
      assert.equal(outcome.status, 'rejected', `${names[index]} is reported failed`);
      assert.match(String((outcome as PromiseRejectedResult).reason), /nginx rejected its configuration/);
    });
    assert.equal(nginx.liveConfiguration(), liveBefore, 'the live nginx.conf and server files are the ones before the batch');
    assert.equal(await served('ann.test'), true, 'the previous sites are still served');
    for (const name of names) assert.equal(await served(`${name}.test`), false, `${name}.test is not served`);

    // The accounts service removes the rows of changes that failed; with nginx fixed, the next change goes through alone.
    stored.splice(stored.findIndex((site) => site.account === 'refused0'), names.length);
    rmSync(broken);
    await create('after');
    assert.equal(await served('after.test'), true);
    assert.equal(await served('refused0.test'), false);
  });
});
