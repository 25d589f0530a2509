/**
 * Changes that reach one node close together go out as one batch (one nginx check and reload for
 * all), and a batch the daemon refuses fails every change in it: the parent's WebService (its
 * real batching) in front of a real nginx on <TEST_NET>.48.2, the node's half done in-process as
 * the agent does it (document roots, then NginxDriver.apply). nginx is made to refuse every new
 * configuration by a broken file in a folder its nginx.conf includes: the check before the change
 * reads only the changed files, so the refusal is the master's own at the reload, and the live
 * configuration must stay what it was.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { WebBatchFixture } from './web-batch-fixture.ts';
import { TEST_NET } from '../test-net.ts';

describe('batched web changes against a real nginx', () => {
  let fixture: WebBatchFixture;
  const create = (username: string): Promise<void> => fixture.create(username);
  const served = (domain: string): Promise<boolean> => fixture.served(domain);

  before(async () => {
    fixture = new WebBatchFixture(`${TEST_NET}.48.2`, 'fleet-web-batch-');
    await fixture.start();
  });

  after(async () => {
    await fixture?.close();
  });

  it('applies changes that arrive together in fewer pushes than changes, each answered after its reload', async () => {
    await create('ann');
    const before = fixture.pushes.length;
    const names = Array.from({ length: 6 }, (_, i) => `batch${i}`);
    await Promise.all(names.map(create));
    const used = fixture.pushes.length - before;
    assert.ok(used <= 2, `6 changes arrived together and went out in ${used} pushes (at most 2: one under way, one for the rest)`);
    for (const name of ['ann', ...names]) assert.equal(await served(`${name}.test`), true, `${name}.test is served once its change was answered`);
  });

  it('fails every change of a batch nginx refuses, acknowledges none, and keeps the previous configuration', async () => {
    const { nginx, pushes, stored } = fixture;
    const liveBefore = nginx.liveConfiguration();
    // A server block nginx refuses; the running master read its config before it came.
    mkdirSync(nginx.paths.extraServersDir, { recursive: true });
    const broken = join(nginx.paths.extraServersDir, 'broken.conf');
    writeFileSync(broken, 'server { listen 80; not_a_directive on; }\n');

    const names = ['refused0', 'refused1', 'refused2', 'refused3'];
    const pushed = pushes.length;
    const outcomes = await Promise.allSettled(names.map(create));
    assert.equal(pushes.length - pushed, 1, 'the four changes arrived together and went out as one batch');
    outcomes.forEach((outcome, index) => {
      assert.equal(outcome.status, 'rejected', `${names[index]} is reported failed`);
      assert.match(String((outcome as PromiseRejectedResult).reason), /nginx did not reload: .*unknown directive "not_a_directive"/);
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
