/**
 * Certificates for N accounts through the panel, against the same N orders made by acme-client
 * alone in the same run. The panel's side: accounts created on a real cluster with pebble, timed
 * from the first creation until every account's certificate is issued and served (each order a
 * job: DNS-01 answers published through the account's zone, checked at its PowerDNS, finalized,
 * deployed to nginx, Dovecot and Postfix). The library's side: acme-client's auto() for the same
 * names against the same pebble, its DNS-01 answers written straight into a PowerDNS instance of
 * its own. The ratio is the panel's overhead. Numbers are printed, never asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent as HttpsAgent } from 'node:https';
import * as acme from 'acme-client';
import { startTestCluster } from '../test/e2e/cluster-fixture.ts';
import { NodeLayout } from '../src/agent/node-layout.ts';
import { PowerDnsDriver } from '../src/dns/powerdns.driver.ts';
import { defaultZoneRecords } from '../src/dns/zone-record.ts';
import { type ZoneRecord } from '../src/protocol/zone-record.ts';
import { accountCertificateNames } from '../src/certificates/certificate-names.ts';
import { startPebble, stopPebble } from '../src/demo/pebble.ts';

const BLOCK = process.env.BENCH_BLOCK ?? '127.0.88';
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 50);
const PASSWORD = 'violet-tugboat-marmalade-91';

process.env.FLEETPANEL_CERTIFICATE_TICK_MS = '500';

async function panelSide(): Promise<number> {
  const cluster = await startTestCluster({ block: BLOCK, acme: true, healthIntervalMs: 5000 });
  try {
    const { url, token } = cluster.info;
    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    };
    const started = performance.now();
    for (let i = 0; i < ACCOUNTS; i++) await api('POST', '/api/accounts', { username: `cert${i}`, domain: `cert${i}-bench.test`, password: PASSWORD });
    const deadline = Date.now() + 30 * 60_000;
    for (;;) {
      const { certificates } = await api<{ certificates: { kind: string }[] }>('GET', '/api/ssl/certificates');
      if (certificates.filter((c) => c.kind === 'issued').length >= ACCOUNTS) break;
      if (Date.now() > deadline) throw new Error('not every certificate was issued within 30 minutes');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return performance.now() - started;
  } finally {
    await cluster.teardown();
  }
}

async function librarySide(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-acme-bench-'));
  const dnsAddress = `${BLOCK}.21`;
  const dns = new PowerDnsDriver({ layout: new NodeLayout(join(dir, 'dns')), address: dnsAddress, log: () => undefined });
  try {
    await dns.start();
    const pebble = await startPebble({ dir: join(dir, 'pebble'), address: `${BLOCK}.22`, dnsServer: `${dnsAddress}:53` });
    acme.axios.defaults.httpsAgent = new HttpsAgent({ ca: pebble.listenerCaPem, keepAlive: true });
    const client = new acme.Client({ directoryUrl: pebble.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
    const zones = new Map<string, ZoneRecord[]>();
    const base = (domain: string): ZoneRecord[] => defaultZoneRecords({ domain, address: '192.0.2.10', mailAddress: '192.0.2.10', nameservers: [`ns1.${domain}`] });
    // auto() answers a certificate's authorizations concurrently: zone writes go one at a time
    // (each sends the zone's whole record set), and each removal takes away only its own record.
    let writes: Promise<unknown> = Promise.resolve();
    const putZone = (domain: string): Promise<unknown> => (writes = writes.then(() => dns.putZone(domain, zones.get(domain)!)));
    const started = performance.now();
    for (let i = 0; i < ACCOUNTS; i++) {
      const domain = `lib${i}-bench.test`;
      zones.set(domain, base(domain));
      await putZone(domain);
      const [, csr] = await acme.crypto.createCsr({ commonName: domain, altNames: accountCertificateNames(domain) }, await acme.crypto.createPrivateEcdsaKey());
      await client.auto({
        csr,
        termsOfServiceAgreed: true,
        challengePriority: ['dns-01'],
        skipChallengeVerification: true,
        challengeCreateFn: async (authz, _challenge, keyAuthorization) => {
          zones.get(domain)!.push({ name: `_acme-challenge.${authz.identifier.value}`, type: 'TXT', ttl: 60, content: keyAuthorization });
          await putZone(domain);
        },
        challengeRemoveFn: async (authz, _challenge, keyAuthorization) => {
          const name = `_acme-challenge.${authz.identifier.value}`;
          zones.set(domain, zones.get(domain)!.filter((record) => !(record.name === name && record.content === keyAuthorization)));
          await putZone(domain);
        },
      });
    }
    return performance.now() - started;
  } finally {
    // Stopped also after a failure: a pebble left running holds the address for the next run.
    await stopPebble(join(dir, 'pebble'));
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const library = await librarySide();
const panel = await panelSide();
console.log(`certificates for ${ACCOUNTS} accounts (6 names each), pebble, DNS-01 through PowerDNS`);
console.log(`  acme-client alone:  ${(library / 1000).toFixed(1)} s (${(library / ACCOUNTS).toFixed(0)} ms per certificate)`);
console.log(`  through the panel:  ${(panel / 1000).toFixed(1)} s (${(panel / ACCOUNTS).toFixed(0)} ms per account, creation included)`);
console.log(`  panel / library:    ${(panel / library).toFixed(2)}x`);
