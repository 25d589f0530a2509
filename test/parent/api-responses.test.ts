/**
 * Every route of the parent's API declares what a success answers (the UI's types are generated
 * from that document, scripts/api-types.ts), and the answers that are not JSON say their type:
 * /metrics is Prometheus text, the live views are server-sent events. Against a parent started
 * in this process on loopback, with its real store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startParent, type RunningParent } from '../../src/parent/parent.server.ts';
import { NodesRepository } from '../../src/nodes/nodes.repository.ts';
import { TEST_NET } from '../test-net.ts';

const BLOCK = `${TEST_NET}.53`;

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

describe("the parent API's answers", () => {
  let dataDir: string;
  let parent: RunningParent;
  let url: string;
  let token: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fp-api-responses-'));
    parent = await startParent({ dataDir, host: `${BLOCK}.1`, port: 0, name: 'api-responses', adminPassword: 'admin-password-of-the-api-test' });
    url = `http://${BLOCK}.1:${(parent.app.server.address() as { port: number }).port}`;
    token = (await parent.services.auth.login('admin', 'admin-password-of-the-api-test')).token;
  });

  after(async () => {
    await parent?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('every route declares the content of its success answer, and no answer is left to "Default Response"', () => {
    const document = parent.app.swagger() as unknown as { paths: Record<string, Record<string, Operation>> };
    const undeclared: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const successes = Object.entries(operation.responses ?? {}).filter(([status]) => status.startsWith('2'));
        const declared = successes.some(([status, answer]) => status === '204' || Object.values(answer.content ?? {}).some((media) => media.schema !== undefined));
        if (!declared) undeclared.push(`${method.toUpperCase()} ${path}`);
      }
    }
    assert.deepEqual(undeclared, []);
    const metrics = document.paths['/metrics']!.get!.responses!['200']!.content!;
    assert.deepEqual(Object.keys(metrics), ['text/plain']);
    for (const stream of ['/api/jobs/{id}/stream', '/api/nodes/{alias}/stream']) {
      assert.deepEqual(Object.keys(document.paths[stream]!.get!.responses!['200']!.content!), ['text/event-stream'], stream);
    }
  });

  test('/metrics answers Prometheus text that parses, as its declaration says', async () => {
    const { token: metricsToken } = (await (await request(`${url}/api/metrics/token`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).body.json()) as { token: string };
    const response = await request(`${url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = await response.body.text();
    assert.ok(!text.startsWith('"'), 'the text is sent as it is, not as a JSON string');
    const names = parsePrometheusTextFormat(text).map((family) => family.name);
    assert.ok(names.includes('fleetpanel_node_status'), names.join(', '));
    const refused = await request(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(refused.statusCode, 401, 'an API token is not the metrics token');
    await refused.body.dump();
  });

  test("a node's live view is a server-sent event stream with its first event at once", async () => {
    await new NodesRepository(parent.services.db).insert({ alias: 'sse1', host: `${BLOCK}.9`, agentPort: 7443, profile: 'STANDARD', roles: ['mail'], status: 'offline', isLocal: false, fingerprint: null, tlsVerified: true, agentVersion: null });
    const controller = new AbortController();
    const response = await request(`${url}/api/nodes/sse1/stream`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/event-stream/);
    let text = '';
    for await (const chunk of response.body) {
      text += (chunk as Buffer).toString('utf8');
      if (text.includes('event: node\n')) break;
    }
    controller.abort();
    const data = /event: node\ndata: (.*)\n/.exec(text)?.[1];
    assert.equal((JSON.parse(data!) as { alias: string }).alias, 'sse1');
  });

  test("the panel's certificate is null without --hostname, and a node's certificates are a list", async () => {
    const panel = await request(`${url}/api/ssl/panel`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(panel.statusCode, 200);
    assert.equal(await panel.body.text(), 'null');
    const onNode = await request(`${url}/api/nodes/sse1/ssl`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(onNode.statusCode, 200);
    assert.deepEqual(await onNode.body.json(), { certificates: [] });
  });
});
