/**
 * Nodes end to end on real clusters: parent "alpha" on 127.0.30.1 with mail1 (linked by token)
 * on .2 and mail2 (installed over SSH through its own sshd, starting from an empty node) on .3,
 * and a second parent "beta" on 127.0.31.1. Everything is checked through the CLI, the API or the
 * agents themselves; no assertion depends on wall-clock time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTestCluster, type CliResult } from './cluster-fixture.ts';
import { callAgentAs } from './agent-call.ts';
import { waitFor } from '../../src/agent/daemon-process.ts';
import { encodeLinkToken } from '../../src/protocol/link-token.ts';
import { AGENT_ROUTES } from '../../src/protocol/agent-routes.ts';
import { AgentClient } from '../../src/transport/agent-client.ts';
import { CertificateAuthority } from '../../src/transport/ca.ts';
import { REPO_ROOT } from '../../src/demo/processes.ts';
import { agentPidFile } from '../../src/nodes/agent-install-layout.ts';
import type { NodeView } from '../../src/nodes/node.model.ts';
import { TEST_NET } from '../test-net.ts';

type NodeDetail = NodeView & { events: { at: string; status: string; message: string }[] };

const STEP_TITLES = [
  'create the admin user fleetmaster',
  "register the parent's SSH key",
  'check the package sources',
  'install the agent and the Node runtime',
  'install the packages of the roles',
  'lay out the node root and write the agent configuration',
  'start the agent and link it to this parent only',
  'list the synchronizers of the data sync',
];

function assertOneLineFailure(result: CliResult, exitCode: number, reason: RegExp): void {
  assert.equal(result.code, exitCode, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line of reason, got: ${result.stderr}`);
  assert.match(lines[0]!, /^fleetpanel: /);
  assert.match(lines[0]!, reason);
}

describe('nodes on a real local cluster', () => {
  const alpha = useTestCluster({
    block: `${TEST_NET}.30`,
    parentAlias: 'alpha',
    children: [
      { alias: 'mail1', roles: ['mail'], link: 'token' },
      { alias: 'mail2', roles: ['mail'], link: 'ssh' },
    ],
  });
  const beta = useTestCluster({ block: `${TEST_NET}.31`, parentAlias: 'beta' });

  const node = async (alias: string): Promise<NodeDetail> => alpha.cluster.api<NodeDetail>(alpha.info.token, 'GET', `/api/nodes/${alias}`);
  const parentIdentity = (): { caCertPem: string; clientCertPem: string; clientKeyPem: string } => {
    const ca = join(alpha.dir, 'parent', 'ca');
    return {
      caCertPem: readFileSync(join(ca, 'ca.crt'), 'utf8'),
      clientCertPem: readFileSync(join(ca, 'client.crt'), 'utf8'),
      clientKeyPem: readFileSync(join(ca, 'client.key'), 'utf8'),
    };
  };

  test('every node reaches ready and `fleetpanel node list --json` lists them ready', async () => {
    const listed = await alpha.cli(['node', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const nodes = JSON.parse(listed.stdout) as NodeView[];
    assert.deepEqual(nodes.map((n) => [n.alias, n.status]).sort(), [
      ['alpha', 'ready'],
      ['mail1', 'ready'],
      ['mail2', 'ready'],
    ]);
    const shown = JSON.parse((await alpha.cli(['node', 'show', 'mail2', '--json'])).stdout) as NodeView;
    assert.equal(shown.host, `${TEST_NET}.30.3`);
    assert.equal(shown.profile, 'MAIL');
    assert.deepEqual(shown.roles, ['mail']);
    assert.equal(shown.tlsVerified, true);
    assert.ok(shown.agentVersion, 'agent version recorded');
    assert.ok(shown.lastCheckAt, 'last check recorded');
    assert.ok(Array.isArray(shown.services));
    const parentNode = nodes.find((n) => n.alias === 'alpha')!;
    assert.equal(parentNode.local, true);
    assert.equal(parentNode.profile, 'STANDARD');
  });

  test('the SSH install ran every step against a real sshd, on a node that had no agent, and repeats idempotently', async () => {
    const events = (await node('mail2')).events.slice().reverse();
    const finished = events.filter((e) => e.status === 'installing' && !e.message.endsWith(': running'));
    assert.deepEqual(
      finished.map((e) => /^step \d+\/\d+ (.+?): /.exec(e.message)?.[1]),
      STEP_TITLES,
      'each step reported once, in order',
    );
    const agentStep = finished.find((e) => e.message.includes('install the agent'))!;
    assert.match(agentStep.message, /copied Node v\d+.* and agent /, 'the node had no agent: runtime and bundle were copied');
    assert.match(finished.find((e) => e.message.includes('package sources'))!.message, /^step 3\/8 check the package sources: apt-get found; none added(, none needed: Debian 12|: )/);
    assert.match(finished.find((e) => e.message.includes('agent configuration'))!.message, /agent configuration \/.+ written .*daemon configuration comes later/);
    assert.match(finished.find((e) => e.message.includes('start the agent'))!.message, /supervised process.*linked with its token/);

    // The agent runs from the copied runtime and bundle, outside the repository and its node_modules.
    const installDir = alpha.cluster.installDir('mail2');
    assert.ok(!installDir.startsWith(REPO_ROOT));
    assert.ok(!existsSync(join(installDir, 'node_modules')));
    const pid = readFileSync(agentPidFile(alpha.cluster.nodeRoot('mail2')), 'utf8').trim();
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.equal(commandLine[0], join(installDir, 'node'));
    assert.equal(commandLine[1], join(installDir, 'fleetpanel-agent.mjs'));

    // The parent's own key logs in as fleetmaster (the step proved it; here the file is checked).
    const parentKey = readFileSync(join(alpha.dir, 'parent', 'ssh', 'id_ed25519.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    assert.ok(readFileSync('/home/fleetmaster/.ssh/authorized_keys', 'utf8').includes(parentKey));

    const again = await alpha.cli([
      'node', 'add', '--alias', 'mail2', '--ssh', `root@${TEST_NET}.30.3`, '--key', join(alpha.dir, 'ssh', 'admin_ed25519'), '--roles', 'mail',
      '--node-root', alpha.cluster.nodeRoot('mail2'), '--install-dir', installDir, '--json',
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as NodeView).status, 'ready');
    const rerun = (await node('mail2')).events.map((e) => e.message);
    assert.ok(rerun.some((m) => m.includes('is up to date')), 'nothing copied the second time');
    assert.ok(rerun.some((m) => m.includes('already linked to this parent')), 'not linked twice');
    assert.ok(rerun.some((m) => m.includes('fleetmaster exists')));
  });

  test('an agent refuses callers without the parent client certificate or with one from another CA, and nothing changes', async () => {
    const host = alpha.address('mail1');
    const noCertificate = await callAgentAs(host, 'PUT', '/v1/roles', { roles: ['web'] });
    assert.equal(noCertificate.status, 401);
    assert.match(noCertificate.body.message!, /serves only its parent \(alpha\): no client certificate/);

    const caDir = mkdtempSync(join(tmpdir(), 'fleetpanel-intruder-ca-'));
    try {
      const intruder = await CertificateAuthority.open(caDir, 'intruder');
      const asIntruder = { cert: intruder.clientCertPem, key: intruder.clientKeyPem };
      for (const [method, path, body] of [
        ['GET', '/v1/health', undefined],
        ['PUT', '/v1/roles', { roles: ['web'] }],
        ['POST', '/v1/unlink', { tokenExpiresInHours: null }],
      ] as const) {
        const refused = await callAgentAs(host, method, path, body, asIntruder);
        assert.equal(refused.status, 401, `${method} ${path}`);
        assert.match(refused.body.message!, /serves only its parent \(alpha\): client certificate refused/);
      }
      const relink = await callAgentAs(host, 'POST', '/v1/link', { secret: 'x', parentId: 'intruder', parentName: 'intruder', caCertPem: intruder.caCertPem });
      assert.equal(relink.status, 409);
    } finally {
      rmSync(caDir, { recursive: true, force: true });
    }

    const client = new AgentClient({ alias: 'mail1', host, port: 7443 }, parentIdentity());
    try {
      const health = await client.send(AGENT_ROUTES.health);
      assert.deepEqual(health.roles, ['mail'], 'roles unchanged');
    } finally {
      await client.close();
    }
    assert.equal((await callAgentAs(host, 'GET', '/v1/hello', undefined)).body.linked, true, 'still linked');
    assert.equal((await node('mail1')).status, 'ready');
  });

  test('a second parent cannot link or install a linked child, and parents cannot be linked as nodes', async () => {
    const anyToken = encodeLinkToken({ a: `${TEST_NET}.30.2:7443`, f: 'sha256:00', s: 'guessed' });
    const stolen = await beta.cli(['node', 'link', '--alias', 'stolen', '--host', `${TEST_NET}.30.2`, '--token-stdin', '--skip-tls-verify'], anyToken);
    assertOneLineFailure(stolen, 6, /already linked to parent alpha; a node takes orders from one parent only/);

    const agentConfig = readFileSync(join(alpha.cluster.installDir('mail2'), 'agent.json'), 'utf8');
    const overSsh = await beta.cli(['node', 'add', '--alias', 'stolen2', '--ssh', `root@${TEST_NET}.30.3`, '--key', join(alpha.dir, 'ssh', 'admin_ed25519'), '--roles', 'mail']);
    assertOneLineFailure(overSsh, 6, /already linked to parent alpha/);
    assert.equal(readFileSync(join(alpha.cluster.installDir('mail2'), 'agent.json'), 'utf8'), agentConfig, 'the node was not touched');

    const parentAsNode = await beta.cli(['node', 'link', '--alias', 'alpha', '--host', `${TEST_NET}.30.1`, '--token-stdin', '--skip-tls-verify'], anyToken);
    assertOneLineFailure(parentAsNode, 6, /parents cannot be linked to each other/);
    const itself = await beta.cli(['node', 'add', '--alias', 'me', '--ssh', `root@${TEST_NET}.31.1`, '--password-stdin'], 'secret');
    assertOneLineFailure(itself, 6, /this parent's own node/);

    const betaNodes = JSON.parse((await beta.cli(['node', 'list', '--json'])).stdout) as NodeView[];
    assert.deepEqual(betaNodes.map((n) => n.alias), ['beta']);
    assert.equal((await node('mail1')).status, 'ready');
    assert.equal((await node('mail2')).status, 'ready');
  });

  test('a stopped agent turns its node offline within two health checks, and ready again when it is back', async () => {
    const before = (await node('mail2')).lastCheckAt;
    await alpha.cluster.stopAgent('mail2');
    const checksSinceStop = new Set<string>();
    await waitFor(
      async () => {
        const current = await node('mail2');
        if (current.lastCheckAt && current.lastCheckAt !== before) checksSinceStop.add(current.lastCheckAt);
        return current.status === 'offline';
      },
      60_000,
      'mail2 to go offline',
    );
    assert.ok(checksSinceStop.size <= 2, `offline after ${checksSinceStop.size} health checks`);
    assert.match((await node('mail2')).statusDetail ?? '', /health check failed/);

    alpha.cluster.startAgent('mail2', alpha.address('mail2'), false);
    const back = await alpha.cluster.waitReady(alpha.info.token, 'mail2', () => undefined, 60_000);
    assert.equal(back.status, 'ready');
  });

  test('CLI refusals exit non-zero with a one-line reason', async () => {
    assertOneLineFailure(await alpha.cli(['node', 'show', 'nosuch']), 5, /node 'nosuch' does not exist/);
    assertOneLineFailure(await alpha.cli(['node', 'add', '--alias', 'bad alias!', '--ssh', `root@${TEST_NET}.30.9`, '--password-stdin'], 'x'), 2, /alias/);
    assertOneLineFailure(await alpha.cli(['node', 'add', '--alias', 'x'.repeat(51), '--ssh', `root@${TEST_NET}.30.9`, '--password-stdin'], 'x'), 2, /alias/);
    assertOneLineFailure(await alpha.cli(['node', 'add', '--alias', 'mail3', '--ssh', `root@${TEST_NET}.30.3`]), 2, /exactly one of --password-stdin and --key/);
    assertOneLineFailure(await alpha.cli(['node', 'add', '--alias', 'mail3', '--ssh', `root@${TEST_NET}.30.3`, '--password-stdin'], 'wrong'), 7, /authentication as root failed/);
    assertOneLineFailure(await alpha.cli(['node', 'add', '--alias', 'mail1', '--ssh', `root@${TEST_NET}.30.3`, '--key', join(alpha.dir, 'ssh', 'admin_ed25519')]), 6, /alias 'mail1' is already taken/);
    assertOneLineFailure(await alpha.cli(['node', 'link', '--alias', 'mail1', '--host', `${TEST_NET}.30.2`, '--token-stdin'], encodeLinkToken({ a: `${TEST_NET}.30.2:7443`, f: 'x', s: 'y' })), 6, /already taken/);
    assertOneLineFailure(await alpha.cli(['node', 'profile', 'alpha', 'MAIL']), 6, /must keep the STANDARD profile/);
    assertOneLineFailure(await alpha.cli(['node', 'profile', 'mail1', 'NOPE']), 2, /profile: must be one of/);
    assertOneLineFailure(await alpha.cli(['node', 'unlink', 'alpha']), 6, /cannot be unlinked/);
    const names = (JSON.parse((await alpha.cli(['node', 'list', '--json'])).stdout) as NodeView[]).map((n) => n.alias).sort();
    assert.deepEqual(names, ['alpha', 'mail1', 'mail2'], 'no refused command left a node behind');
  });

  test('an unlinked node prints a new token and links again', async () => {
    const unlinked = await alpha.cli(['node', 'unlink', 'mail1', '--json']);
    assert.equal(unlinked.code, 0, unlinked.stderr);
    const token = readFileSync(join(alpha.cluster.nodeRoot('mail1'), 'agent', 'link-token.txt'), 'utf8').trim();
    const relinked = await alpha.cli(['node', 'link', '--alias', 'mail1', '--host', `${TEST_NET}.30.2`, '--roles', 'mail', '--token-stdin', '--json'], token);
    assert.equal(relinked.code, 0, relinked.stderr);
    assert.equal((JSON.parse(relinked.stdout) as NodeView).status, 'ready');
  });
});
