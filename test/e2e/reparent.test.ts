/**
 * Re-parenting a child on two real pairs: the old parent "old" on <net>.47.1 with the children
 * kid (.2) and spare (.3), and the new parent "new" on <net>.147.1 with its own node only. The
 * handover is checked from both parents and from the child's agent itself (which client
 * certificates it takes); nothing depends on wall-clock time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTestCluster, callApi, type ApiResult, type TestCluster } from './cluster-fixture.ts';
import { waitFor } from '../../src/agent/daemon-process.ts';
import { AGENT_ROUTES } from '../../src/protocol/agent-routes.ts';
import { AgentClient, type ClientIdentity } from '../../src/transport/agent-client.ts';
import type { NodeView } from '../../src/nodes/node.model.ts';
import { TEST_NET } from '../test-net.ts';

const OLD_BLOCK = `${TEST_NET}.47`;
const NEW_BLOCK = `${TEST_NET}.147`;

/** A call to an agent with a given client certificate, on a fresh connection. */
function callAgentAs(host: string, method: string, path: string, body: unknown, client: { cert: string; key: string }): Promise<{ status: number; body: { error?: string; message?: string; token?: string } }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = https.request(
      {
        host,
        port: 7443,
        method,
        path,
        rejectUnauthorized: false,
        cert: client.cert,
        key: client.key,
        agent: false,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as { message?: string } }));
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

function identityOf(pair: TestCluster): ClientIdentity {
  const ca = join(pair.dir, 'parent', 'ca');
  return {
    caCertPem: readFileSync(join(ca, 'ca.crt'), 'utf8'),
    clientCertPem: readFileSync(join(ca, 'client.crt'), 'utf8'),
    clientKeyPem: readFileSync(join(ca, 'client.key'), 'utf8'),
  };
}

describe('re-parenting a child', () => {
  const old = useTestCluster({
    block: OLD_BLOCK,
    parentAlias: 'old',
    children: [
      { alias: 'kid', roles: ['mail'], link: 'token' },
      { alias: 'spare', roles: ['mail'], link: 'token' },
    ],
  });
  const fresh = useTestCluster({ block: NEW_BLOCK, parentAlias: 'new' });

  const api = <T = Record<string, unknown>>(pair: TestCluster, method: string, path: string, body?: unknown): Promise<ApiResult<T>> =>
    callApi<T>(pair.info.url, method, path, body, pair.info.token);

  test('a handover swaps the child to the new parent in one step: the old parent is refused by mTLS, even on a kept-alive connection', async () => {
    const host = old.address('spare');
    const oldIdentity = identityOf(old);
    const asOld = { cert: oldIdentity.clientCertPem, key: oldIdentity.clientKeyPem };
    // A kept-alive connection of the old parent, opened before the handover.
    const kept = new AgentClient({ alias: 'spare', host, port: 7443 }, oldIdentity);
    try {
      assert.ok((await kept.send(AGENT_ROUTES.health)).services.length > 0);

      const identity = await api<{ parentId: string; name: string }>(fresh, 'GET', '/api/parent/identity');
      assert.equal(identity.status, 200, identity.body.message);
      assert.equal(identity.body.name, 'new');
      const issued = await callAgentAs(host, 'POST', '/v1/handover', { newParentId: identity.body.parentId, newParentName: 'new', expiresInMinutes: 5 }, asOld);
      assert.equal(issued.status, 200, issued.body.message);
      const token = issued.body.token!;

      // Until the new parent uses it, the child obeys the old parent only; no other parent can spend it.
      assert.equal((await callAgentAs(host, 'GET', '/v1/health', undefined, asOld)).status, 200);
      const thief = await callApi(old.info.url, 'POST', '/api/nodes/link', { alias: 'spare2', host, token, adopt: true }, old.info.token);
      assert.equal(thief.status, 409, 'the old parent itself cannot spend a token issued for another parent');

      const adopted = await api<NodeView>(fresh, 'POST', '/api/nodes/link', { alias: 'spare', host, token, roles: ['mail'], adopt: true });
      assert.equal(adopted.status, 201, adopted.body.message);
      assert.equal(adopted.body.status, 'adopting');
      assert.match(adopted.body.statusDetail ?? '', /handed over by old/);

      const refused = await callAgentAs(host, 'GET', '/v1/health', undefined, asOld);
      assert.equal(refused.status, 401);
      assert.match(refused.body.message!, /serves only its parent \(new\): client certificate refused/);
      // The kept connection passed its TLS handshake before the swap; the agent still refuses it.
      await assert.rejects(kept.send(AGENT_ROUTES.health), (error: Error & { kind?: string }) => {
        assert.equal(error.kind, 'unauthenticated', error.message);
        assert.match(error.message, /issued by another CA/);
        return true;
      });
      // The token is spent: a second use fails and changes nothing.
      const again = await api(fresh, 'POST', '/api/nodes/link', { alias: 'spare3', host, token, adopt: true });
      assert.ok(again.status >= 400);

      const released = await api<NodeView>(fresh, 'POST', '/api/nodes/spare/release');
      assert.equal(released.status, 200, released.body.message);
      await waitFor(async () => (await api<NodeView>(fresh, 'GET', '/api/nodes/spare')).body.status === 'ready', 120_000, 'the adopted node to be ready at the new parent');
      const newIdentity = identityOf(fresh);
      const asNew = await callAgentAs(host, 'GET', '/v1/health', undefined, { cert: newIdentity.clientCertPem, key: newIdentity.clientKeyPem });
      assert.equal(asNew.status, 200, asNew.body.message);
    } finally {
      await kept.close();
    }
  });
});
