/**
 * The ACME issuer against Debian's pebble, whose DNS-01 checks ask a real PowerDNS instance:
 * an order is answered only once its TXT records are served, the certificate covers every name
 * and chains to pebble's root, and an unanswered challenge is refused with a clear error.
 * Addresses: PowerDNS on <net>.44.2, pebble on <net>.44.3.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { PowerDnsDriver } from '../../src/dns/powerdns.driver.ts';
import { defaultZoneRecords } from '../../src/dns/zone-record.ts';
import { type ZoneRecord } from '../../src/protocol/zone-record.ts';
import { AcmeIssuer, createCertificateKey, readCertificate } from '../../src/certificates/acme-issuer.ts';
import { startPebble, stopPebble, type RunningPebble } from '../../src/demo/pebble.ts';
import { FleetError } from '../../src/core/errors.ts';
import { TEST_NET } from '../test-net.ts';

const DNS_ADDRESS = `${TEST_NET}.44.2`;
const PEBBLE_ADDRESS = `${TEST_NET}.44.3`;
const ZONE = 'shop.example';
const NAMES = [ZONE, `www.${ZONE}`, `mail.${ZONE}`, `webmail.${ZONE}`];

describe('ACME issuer against pebble and a real PowerDNS', () => {
  let workDir: string;
  let dns: PowerDnsDriver | undefined;
  let pebble: RunningPebble;
  let issuer: AcmeIssuer;

  const zone = (challenges: { recordName: string; value: string }[]): ZoneRecord[] => [
    ...defaultZoneRecords({ domain: ZONE, address: '192.0.2.10', mailAddress: '192.0.2.20', nameservers: [`ns1.${ZONE}`] }),
    { name: `ns1.${ZONE}`, type: 'A', ttl: 300, content: DNS_ADDRESS },
    ...challenges.map((c): ZoneRecord => ({ name: c.recordName, type: 'TXT', ttl: 60, content: c.value })),
  ];

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'fleet-acme-'));
    dns = new PowerDnsDriver({ layout: new NodeLayout(join(workDir, 'dns')), address: DNS_ADDRESS, log: () => undefined });
    await dns.start();
    await dns.putZone(ZONE, zone([]));
    pebble = await startPebble({ dir: join(workDir, 'pebble'), address: PEBBLE_ADDRESS, dnsServer: `${DNS_ADDRESS}:53` });
    issuer = new AcmeIssuer({ directoryUrl: pebble.directoryUrl, caBundlePem: pebble.listenerCaPem }, await AcmeIssuer.createAccountKey());
  });

  after(async () => {
    if (workDir) await stopPebble(join(workDir, 'pebble'));
    await dns?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('issues a certificate for every name once the TXT records are served', async () => {
    const order = await issuer.placeOrder(NAMES);
    assert.deepEqual(order.challenges.map((c) => c.identifier).sort(), [...NAMES].sort());
    for (const challenge of order.challenges) {
      assert.equal(challenge.recordName, `_acme-challenge.${challenge.identifier}`);
      assert.match(challenge.value, /^[A-Za-z0-9_-]{43}$/, 'the base64url SHA-256 digest of the key authorization');
    }
    await dns!.putZone(ZONE, zone(order.challenges));
    await issuer.answerChallenges(order.orderUrl);
    // Answering again (a job step resumed after a crash) is a no-op on a ready order.
    await issuer.answerChallenges(order.orderUrl);

    const keyPem = await createCertificateKey();
    const issued = await issuer.finalize(order.orderUrl, NAMES, keyPem);
    const again = await issuer.finalize(order.orderUrl, NAMES, keyPem);
    assert.equal(again.chainPem, issued.chainPem, 'a finalized order hands out the same certificate');

    const info = readCertificate(issued.chainPem);
    assert.deepEqual(info.names.sort(), [...NAMES].sort());
    assert.match(info.issuer, /^Pebble Intermediate CA/);
    const [leafPem, intermediatePem] = issued.chainPem.split(/(?<=-----END CERTIFICATE-----\n?)/).filter((p) => p.trim());
    const leaf = new X509Certificate(leafPem!);
    const intermediate = new X509Certificate(intermediatePem!);
    const root = new X509Certificate(await pebble.issuingRootPem());
    assert.ok(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey), 'the leaf is signed by the intermediate');
    assert.ok(intermediate.verify(root.publicKey), 'the intermediate is signed by pebble\'s root');
    assert.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(keyPem)), 'the certificate is for the key we kept');
  });

  it('refuses when the challenge records are not served, naming the ACME server', async () => {
    await dns!.putZone(ZONE, zone([]));
    const order = await issuer.placeOrder([`autoconfig.${ZONE}`]);
    await assert.rejects(issuer.answerChallenges(order.orderUrl), (error: unknown) => {
      assert.ok(error instanceof FleetError);
      assert.equal(error.kind, 'conflict');
      assert.match(error.message, /ACME server refused \(validation\)/);
      return true;
    });
  });

  it('reports an unreachable directory as unavailable, not as a refusal', async () => {
    const nowhere = new AcmeIssuer({ directoryUrl: `https://${PEBBLE_ADDRESS}:1/dir`, caBundlePem: null }, await AcmeIssuer.createAccountKey());
    await assert.rejects(nowhere.placeOrder([ZONE]), (error: unknown) => error instanceof FleetError && error.kind === 'node_unavailable');
  });
});
