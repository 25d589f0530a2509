/**
 * Account transfers between two real parent/child pairs (issue 12): the first pair's parent on
 * 127.<net>.46.1 with the mail child mail1 on .2, the second pair's parent on 127.<net>.47.1 with
 * its mail child mail9 on 127.<net>.47.2.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useTestCluster, callApi } from './cluster-fixture.ts';
import { TEST_NET } from '../test-net.ts';

const BLOCK = `${TEST_NET}.46`;
const SECOND_BLOCK = `${TEST_NET}.47`;

const fixture = useTestCluster({
  block: BLOCK,
  children: [{ alias: 'mail1', roles: ['mail'], link: 'token' }],
  second: { block: SECOND_BLOCK, children: [{ alias: 'mail9', roles: ['mail'], link: 'token' }] },
});

describe('two pairs', () => {
  test('each parent has its own nodes, store and admin token', async () => {
    const first = await callApi<{ nodes: { alias: string; host: string; status: string }[] }>(fixture.info.url, 'GET', '/api/nodes', undefined, fixture.info.token);
    const second = await callApi<{ nodes: { alias: string; host: string; status: string }[] }>(fixture.second.info.url, 'GET', '/api/nodes', undefined, fixture.second.info.token);
    assert.deepEqual(first.body.nodes.map((n) => [n.alias, n.host, n.status]).sort(), [['mail1', `${BLOCK}.2`, 'ready'], ['parent', `${BLOCK}.1`, 'ready']]);
    assert.deepEqual(second.body.nodes.map((n) => [n.alias, n.host, n.status]).sort(), [['mail9', `${SECOND_BLOCK}.2`, 'ready'], ['parent2', `${SECOND_BLOCK}.1`, 'ready']]);
    const crossed = await callApi(fixture.second.info.url, 'GET', '/api/nodes', undefined, fixture.info.token);
    assert.equal(crossed.status, 401);
  });
});
