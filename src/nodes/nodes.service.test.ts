/**
 * The node rules that need no agent: refusals for aliases, the parent's profile, unlinking a node
 * that accounts still use, and resuming an SSH installation under the same alias. A real SQLite
 * store in a temporary folder stands in for the parent's store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../store/database.ts';
import { CertificateAuthority } from '../transport/ca.ts';
import { FleetError } from '../core/errors.ts';
import { NodesRepository } from './nodes.repository.ts';
import { NodeConnections } from './node-connections.ts';
import { NodesService } from './nodes.service.ts';

describe('NodesService rules', () => {
  let dir: string;
  let store: OpenedStore;
  let repo: NodesRepository;
  let service: NodesService;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetpanel-nodes-service-'));
    store = await openStore(join(dir, 'store.sqlite'));
    repo = new NodesRepository(store.db);
    const ca = await CertificateAuthority.open(join(dir, 'ca'), 'test');
    const connections = new NodeConnections(repo, { caCertPem: ca.caCertPem, clientCertPem: ca.clientCertPem, clientKeyPem: ca.clientKeyPem });
    service = new NodesService(repo, connections, ca, 'test', 1000);
  });
  after(async () => {
    service.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const refusal = (kind: FleetError['kind'], message: RegExp) => (error: unknown) => error instanceof FleetError && error.kind === kind && message.test(error.message);

  test('unlinking is refused while accounts use the node, and the refusal lists them', async () => {
    const { row } = await service.registerOrResumeInstall('mail-a', '192.0.2.20', 'MAIL', ['mail']);
    await service.setStatus(row, 'ready', null);
    service.addUsage(async (node) => (node.alias === 'mail-a' ? ['carol', 'alice'] : []));
    service.addUsage(async (node) => (node.alias === 'mail-a' ? ['alice'] : []));
    await assert.rejects(service.unlink('mail-a', 'leave'), (error: unknown) => {
      assert.ok(error instanceof FleetError && error.kind === 'conflict');
      assert.match(error.message, /still used by 2 account\(s\): alice, carol/);
      assert.deepEqual(error.details.accounts, ['alice', 'carol']);
      return true;
    });
    assert.equal((await service.row('mail-a')).status, 'ready', 'the refusal changed nothing');
  });

  test('aliases follow the grammar and are unique; re-adding the same host under its alias resumes', async () => {
    await assert.rejects(service.registerOrResumeInstall('bad alias', '192.0.2.21', 'MAIL', ['mail']), refusal('validation', /alias/));
    await assert.rejects(service.registerOrResumeInstall('x'.repeat(51), '192.0.2.21', 'MAIL', ['mail']), refusal('validation', /alias/));
    await assert.rejects(service.registerOrResumeInstall('mail-a', '192.0.2.99', 'MAIL', ['mail']), refusal('conflict', /already taken by 192\.0\.2\.20/));
    await assert.rejects(service.registerOrResumeInstall('mail-b', '192.0.2.20', 'MAIL', ['mail']), refusal('conflict', /already linked to this parent as 'mail-a'/));
    const again = await service.registerOrResumeInstall('mail-a', '192.0.2.20', 'STANDARD', ['mail', 'web']);
    assert.equal(again.resumed, true);
    assert.equal(again.row.status, 'installing');
    assert.equal(again.row.profile, 'STANDARD');
  });

  test("the parent's own node keeps the STANDARD profile", async () => {
    await repo.insert({ alias: 'self', host: '192.0.2.1', agentPort: 7443, profile: 'STANDARD', roles: ['mail'], status: 'ready', isLocal: true, fingerprint: null, tlsVerified: true, agentVersion: null });
    await assert.rejects(service.setProfile('self', 'MAIL'), refusal('conflict', /must keep the STANDARD profile/));
    await assert.rejects(service.unlink('self', 'leave'), refusal('conflict', /cannot be unlinked/));
    await assert.rejects(service.registerOrResumeInstall('self', '192.0.2.1', 'STANDARD', ['mail']), refusal('conflict', /own node/));
  });
});
