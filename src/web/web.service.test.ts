import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebService, type WebAgents, type WebStateRequest } from './web.service.ts';
import type { SiteRow } from './web.repository.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { AccountRecord } from '../accounts/account.model.ts';

const node = { id: 1, alias: 'parent', roles: ['web'] } as NodeRow;
const account = (username: string, domain: string, suspended = false): AccountRecord => ({ username, domain, suspended }) as AccountRecord;

function setup(stored: SiteRow[]): { web: WebService; pushed: WebStateRequest[]; removed: string[] } {
  const pushed: WebStateRequest[] = [];
  const removed: string[] = [];
  const agents: WebAgents = { putState: async (_node, state) => void pushed.push(state), removeAccountData: async (_node, name) => void removed.push(name) };
  return { web: new WebService({ sitesOnNode: async () => stored.map((s) => ({ ...s })) }, agents), pushed, removed };
}

test('suspend pushes the whole node state with the new flag before the store has it', async () => {
  const { web, pushed } = setup([{ account: 'ann', domain: 'ann.test', suspended: false }, { account: 'bob', domain: 'bob.test', suspended: false }]);
  await web.suspend(account('ann', 'ann.test'), node, true);
  assert.deepEqual(pushed[0]!.sites, [{ account: 'ann', domain: 'ann.test', suspended: true }, { account: 'bob', domain: 'bob.test', suspended: false }]);
});

test('deprovision drops the vhost first, then the account data', async () => {
  const { web, pushed, removed } = setup([{ account: 'ann', domain: 'ann.test', suspended: false }]);
  await web.deprovision(account('ann', 'ann.test'), node);
  assert.deepEqual(pushed[0]!.sites, []);
  assert.deepEqual(removed, ['ann']);
});

test('proxies come from the registered providers, and a site keeps its own host names', async () => {
  const { web, pushed } = setup([{ account: 'ann', domain: 'ann.test', suspended: false }]);
  web.addProxyProvider('mail-distribution', async () => [
    { domain: 'webmail.ann.test', upstream: '127.0.0.2' },
    { domain: 'www.ann.test', upstream: '127.0.0.2' },
  ]);
  assert.throws(() => web.addProxyProvider('mail-distribution', async () => []), /registered twice/);
  await web.pushNode(node);
  assert.deepEqual(pushed[0]!.proxies, [{ domain: 'webmail.ann.test', upstream: '127.0.0.2' }]);
});
