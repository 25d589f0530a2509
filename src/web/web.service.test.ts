import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebService, type WebAgents, type WebStateRequest } from './web.service.ts';
import type { SiteRow } from './web.repository.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { AccountRecord } from '../accounts/account.model.ts';

const node = { id: 1, alias: 'parent', roles: ['web'] } as NodeRow;
const account = (username: string, domain: string, suspended = false): AccountRecord => ({ username, domain, suspended }) as AccountRecord;

function setup(stored: SiteRow[], refuse = false): { web: WebService; pushed: WebStateRequest[]; removed: string[]; redirects: Map<number, boolean> } {
  const pushed: WebStateRequest[] = [];
  const removed: string[] = [];
  const redirects = new Map<number, boolean>();
  const agents: WebAgents = {
    putState: async (_node, state) => {
      if (refuse) throw new Error('nginx refused the configuration');
      pushed.push(state);
    },
    removeAccountData: async (_node, name) => void removed.push(name),
  };
  const repo = {
    sitesOnNode: async () => stored.map((s) => ({ ...s })),
    httpsRedirect: async (id: number) => redirects.get(id) ?? false,
    setHttpsRedirect: async (id: number, enabled: boolean) => void redirects.set(id, enabled),
  };
  return { web: new WebService(repo, agents), pushed, removed, redirects };
}

test('suspend pushes the whole node state with the new flag before the store has it', async () => {
  const { web, pushed } = setup([{ account: 'ann', domain: 'ann.test', suspended: false, httpsRedirect: false }, { account: 'bob', domain: 'bob.test', suspended: false, httpsRedirect: false }]);
  await web.suspend(account('ann', 'ann.test'), node, true);
  assert.deepEqual(pushed[0]!.sites, [{ account: 'ann', domain: 'ann.test', suspended: true, httpsRedirect: false }, { account: 'bob', domain: 'bob.test', suspended: false, httpsRedirect: false }]);
});

test('deprovision drops the vhost first, then the account data', async () => {
  const { web, pushed, removed } = setup([{ account: 'ann', domain: 'ann.test', suspended: false, httpsRedirect: false }]);
  await web.deprovision(account('ann', 'ann.test'), node);
  assert.deepEqual(pushed[0]!.sites, []);
  assert.deepEqual(removed, ['ann']);
});

test('proxies come from the registered providers, and a site keeps its own host names', async () => {
  const { web, pushed } = setup([{ account: 'ann', domain: 'ann.test', suspended: false, httpsRedirect: false }]);
  web.addProxyProvider('mail-distribution', async () => [
    { domain: 'webmail.ann.test', upstream: '127.0.0.2' },
    { domain: 'www.ann.test', upstream: '127.0.0.2' },
  ]);
  assert.throws(() => web.addProxyProvider('mail-distribution', async () => []), /registered twice/);
  await web.pushNode(node);
  assert.deepEqual(pushed[0]!.proxies, [{ domain: 'webmail.ann.test', upstream: '127.0.0.2' }]);
});

test('the HTTPS redirect reaches the node before the store, and a refusal stores nothing', async () => {
  const ann = { ...account('ann', 'ann.test'), id: 7 };
  const { web, pushed, redirects } = setup([{ account: 'ann', domain: 'ann.test', suspended: false, httpsRedirect: false }]);
  await web.setHttpsRedirect(ann, node, true, 1);
  assert.deepEqual(pushed[0]!.sites, [{ account: 'ann', domain: 'ann.test', suspended: false, httpsRedirect: true }]);
  assert.equal(redirects.get(7), true);
  // Later pushes of the account's site keep the stored option.
  await web.update(ann, node);
  assert.equal(pushed[1]!.sites[0]!.httpsRedirect, true);

  const refused = setup([{ account: 'ann', domain: 'ann.test', suspended: false, httpsRedirect: false }], true);
  await assert.rejects(refused.web.setHttpsRedirect(ann, node, true, 1), /nginx refused/);
  assert.equal(refused.redirects.has(7), false);
});

test('a forwarded site goes to the node the provider names, and its forward goes when the site is removed', async () => {
  const { web, pushed } = setup([
    { account: 'ann', domain: 'ann.test', suspended: false, httpsRedirect: false },
    { account: 'bob', domain: 'bob.test', suspended: false, httpsRedirect: false },
  ]);
  web.addSiteForwardProvider('transfers', async () => [{ domain: 'ann.test', upstream: '127.0.23.1' }]);
  assert.throws(() => web.addSiteForwardProvider('transfers', async () => []), /registered twice/);
  await web.pushNode(node);
  assert.deepEqual(pushed[0]!.sites, [
    { account: 'ann', domain: 'ann.test', suspended: false, httpsRedirect: false, forwardTo: '127.0.23.1' },
    { account: 'bob', domain: 'bob.test', suspended: false, httpsRedirect: false },
  ]);
  await web.deprovision(account('ann', 'ann.test'), node);
  assert.deepEqual(pushed[1]!.sites, [{ account: 'bob', domain: 'bob.test', suspended: false, httpsRedirect: false }]);
});
