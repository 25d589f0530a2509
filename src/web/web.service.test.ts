import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebService, type WebAgents } from './web.service.ts';
import { AppliedWebState, type WebStateStep } from './applied-web-state.ts';
import type { WebStateApplied, WebStateChange, WebStateRequest } from '../protocol/web-state.ts';
import type { SiteRow } from './web.repository.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { AccountRecord } from '../accounts/account.model.ts';

const node = { id: 1, alias: 'parent', roles: ['web'] } as NodeRow;
const account = (username: string, domain: string, suspended = false): AccountRecord => ({ username, domain, suspended }) as AccountRecord;

/**
 * The node's half as the agent keeps it (AppliedWebState); `pushed` is the whole state the node
 * serves after each push, `changes` the changes that came instead of a whole state.
 */
function setup(stored: SiteRow[], refuse = false) {
  const pushed: WebStateRequest[] = [];
  const changes: WebStateChange[] = [];
  const removed: string[] = [];
  const redirects = new Map<number, boolean>();
  const node = { applied: new AppliedWebState() };
  const apply = async (step: WebStateStep): Promise<WebStateApplied> => {
    if (refuse) throw new Error('nginx refused the configuration');
    pushed.push(step.state);
    return { changed: true, digest: step.done() };
  };
  const agents: WebAgents = {
    putState: async (_node, state) => apply(node.applied.whole(state)),
    changeState: async (_node, change) => {
      changes.push(change);
      return apply(node.applied.change(change));
    },
    removeAccountData: async (_node, name) => void removed.push(name),
  };
  const repo = {
    sitesOnNode: async () => stored.map((s) => ({ ...s })),
    httpsRedirect: async (id: number) => redirects.get(id) ?? false,
    setHttpsRedirect: async (id: number, enabled: boolean) => void redirects.set(id, enabled),
  };
  return { web: new WebService(repo, agents), pushed, changes, removed, redirects, node, stored };
}

const ann = (suspended = false): SiteRow => ({ account: 'ann', domain: 'ann.test', suspended, httpsRedirect: false });
const bob = (): SiteRow => ({ account: 'bob', domain: 'bob.test', suspended: false, httpsRedirect: false });

test('after a whole state, a push sends only what changed, against the digest the node answered', async () => {
  const { web, pushed, changes, stored } = setup([ann(), bob()]);
  await web.pushNode(node);
  assert.equal(changes.length, 0, 'the first push is whole');
  await web.suspend(account('ann', 'ann.test'), node, true);
  assert.equal(changes.length, 1);
  assert.deepEqual(changes[0]!.sites, { put: [ann(true)], removed: [] });
  assert.deepEqual(changes[0]!.proxies, { put: [], removed: [] });
  stored.splice(0, 1, ann(true));
  await web.deprovision(account('bob', 'bob.test'), node);
  assert.deepEqual(changes[1]!.sites, { put: [], removed: ['bob.test'] });
  assert.deepEqual(pushed.at(-1)!.sites, [ann(true)], 'the node serves what the store says');
  // Nothing differs: nothing is sent.
  stored.splice(1, 1);
  const count = pushed.length;
  await web.pushNode(node);
  assert.equal(pushed.length, count);
});

test('a node whose agent restarted refuses the change and gets the whole state', async () => {
  const { web, pushed, changes, node: agent } = setup([ann(), bob()]);
  await web.pushNode(node);
  agent.applied = new AppliedWebState();
  await web.suspend(account('ann', 'ann.test'), node, true);
  assert.equal(changes.length, 1, 'the change was tried first');
  assert.deepEqual(pushed.at(-1)!.sites, [ann(true), bob()], 'then the whole state went');
  // And the node is known again: the next push is a change.
  await web.suspend(account('ann', 'ann.test'), node, false);
  assert.equal(changes.length, 2);
});

test('a push that failed leaves the node unknown, so the next one is whole; so does a returning node', async () => {
  const flaky = setup([ann(), bob()]);
  await flaky.web.pushNode(node);
  const refusing = { ...flaky.node };
  flaky.node.applied = { change: () => { throw new Error('connection reset'); }, whole: (state: WebStateRequest) => refusing.applied.whole(state) } as unknown as AppliedWebState;
  await assert.rejects(flaky.web.suspend(account('ann', 'ann.test'), node, true), /connection reset/);
  flaky.node.applied = refusing.applied;
  const changesBefore = flaky.changes.length;
  await flaky.web.suspend(account('ann', 'ann.test'), node, true);
  assert.equal(flaky.changes.length, changesBefore, 'whole, not a change');
  await flaky.web.syncNode(node);
  assert.equal(flaky.changes.length, changesBefore, 'a returning node gets the whole state');
  assert.deepEqual(flaky.pushed.at(-1)!.sites, [ann(), bob()]);
});

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
  await web.update({ ...ann, suspended: true }, node);
  assert.deepEqual(pushed[1]!.sites, [{ account: 'ann', domain: 'ann.test', suspended: true, httpsRedirect: true }]);

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
