/**
 * A real PowerDNS instance on 127.0.22.2:53 with its own node root: zones written through the
 * HTTP API are answered over UDP and TCP, removed records disappear, nothing leaks between runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { run } from '../../src/core/exec.ts';
import { PowerDnsDriver } from '../../src/dns/powerdns.driver.ts';
import { defaultZoneRecords } from '../../src/dns/zone-record.ts';
import { type ZoneRecord } from '../../src/protocol/zone-record.ts';
import { TEST_NET } from '../test-net.ts';

const DNS_ADDRESS = `${TEST_NET}.22.2`;
const ZONE = 'example.com';

async function dig(type: string, name: string, transport: 'udp' | 'tcp' = 'udp'): Promise<string[]> {
  const { stdout } = await run('dig', [`@${DNS_ADDRESS}`, '-p', '53', '+short', '+time=2', '+tries=1', ...(transport === 'tcp' ? ['+tcp'] : []), type, name]);
  return stdout.split('\n').filter((line) => line.length > 0).sort();
}

describe('PowerDNS driver against a real instance', () => {
  let workDir: string;
  let driver: PowerDnsDriver | undefined;

  const defaults = (ipv6?: string): ZoneRecord[] =>
    defaultZoneRecords({ domain: ZONE, address: '192.0.2.10', mailAddress: '192.0.2.20', nameservers: ['ns1.fleet.example', 'ns2.fleet.example'], ...(ipv6 ? { ipv6 } : {}) });

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'fleet-dns-'));
    driver = new PowerDnsDriver({ layout: new NodeLayout(workDir), address: DNS_ADDRESS, log: () => undefined });
    await driver.start();
  });

  after(async () => {
    await driver?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('keeps its files under the node root and reports its PID', async () => {
    const status = await driver!.status();
    assert.equal(status.running, true);
    assert.ok(existsSync(driver!.database));
    assert.ok(driver!.controlSocket.startsWith(workDir));
    assert.ok(driver!.controlSocket.length < 108);
  });

  it('creates a zone and answers A and MX over UDP and TCP', async () => {
    assert.deepEqual(await driver!.listZones(), []);
    const result = await driver!.putZone(ZONE, defaults());
    assert.equal(result.created, true);
    assert.deepEqual(await driver!.listZones(), [ZONE]);
    assert.deepEqual(await dig('MX', ZONE), ['10 mail.example.com.']);
    assert.deepEqual(await dig('A', ZONE), ['192.0.2.10']);
    assert.deepEqual(await dig('A', `www.${ZONE}`, 'tcp'), ['192.0.2.10']);
    assert.deepEqual(await dig('A', `webmail.${ZONE}`), ['192.0.2.20']);
    assert.deepEqual(await dig('NS', ZONE), ['ns1.fleet.example.', 'ns2.fleet.example.']);
    assert.deepEqual(await dig('AAAA', ZONE), [], 'no AAAA without ipv6');
    const soa = await dig('SOA', ZONE);
    assert.match(soa[0] ?? '', /^ns1\.fleet\.example\. hostmaster\.example\.com\. \d+ 10800 3600 604800 3600$/);
  });

  it('reads the zone back in the form it was written, and changes nothing when asked again', async () => {
    const sortRecords = (records: ZoneRecord[]): ZoneRecord[] => [...records].sort((a, b) => `${a.name} ${a.type} ${a.content}`.localeCompare(`${b.name} ${b.type} ${b.content}`));
    assert.deepEqual(sortRecords(await driver!.getZone(ZONE)), sortRecords(defaults()));
    assert.deepEqual(await driver!.putZone(ZONE, defaults()), { created: false, changedRrsets: 0 });
  });

  it('adds AAAA only when ipv6 is given, and removes records that are no longer wanted', async () => {
    await driver!.putZone(ZONE, defaults('2001:db8::10'));
    assert.deepEqual(await dig('AAAA', ZONE), ['2001:db8::10']);
    assert.deepEqual(await dig('AAAA', `www.${ZONE}`), ['2001:db8::10']);

    const withoutWebmail = defaults().filter((record) => !record.name.startsWith('webmail.'));
    const result = await driver!.putZone(ZONE, withoutWebmail);
    assert.equal(result.changedRrsets, 3, 'two AAAA sets and the webmail A set deleted');
    assert.deepEqual(await dig('A', `webmail.${ZONE}`), []);
    assert.deepEqual(await dig('AAAA', ZONE), []);
    assert.deepEqual(await dig('A', ZONE), ['192.0.2.10']);
    const soa = await dig('SOA', ZONE);
    assert.ok(soa.length === 1, 'the SOA is left in place');
  });

  it('replaces a changed record set and quotes TXT records for PowerDNS', async () => {
    const dkimKey = `v=DKIM1; k=rsa; p=${'A'.repeat(300)}`;
    const records: ZoneRecord[] = [
      ...defaults().map((record) => (record.name === ZONE && record.type === 'A' ? { ...record, content: '192.0.2.11' } : record)),
      { name: ZONE, type: 'TXT', ttl: 3600, content: 'v=spf1 mx -all' },
      { name: `_dmarc.${ZONE}`, type: 'TXT', ttl: 3600, content: 'v=DMARC1; p=none; note="quoted" \\ back' },
      { name: `mail._domainkey.${ZONE}`, type: 'TXT', ttl: 3600, content: dkimKey },
      { name: `_imaps._tcp.${ZONE}`, type: 'SRV', ttl: 3600, content: `0 1 993 mail.${ZONE}` },
      { name: ZONE, type: 'CAA', ttl: 3600, content: '0 issue "letsencrypt.org"' },
    ];
    await driver!.putZone(ZONE, records);
    assert.deepEqual(await dig('A', ZONE), ['192.0.2.11']);
    assert.deepEqual(await dig('TXT', ZONE), ['"v=spf1 mx -all"']);
    assert.deepEqual(await dig('TXT', `_dmarc.${ZONE}`), ['"v=DMARC1; p=none; note=\\"quoted\\" \\\\ back"']);
    const dkimAnswer = await dig('TXT', `mail._domainkey.${ZONE}`);
    assert.equal(dkimAnswer.length, 1);
    assert.equal(dkimAnswer[0]!.split('" "').length, 2, 'a 300+ character text is split into two strings');
    assert.deepEqual(await dig('SRV', `_imaps._tcp.${ZONE}`), ['0 1 993 mail.example.com.']);
    const stored = await driver!.getZone(ZONE);
    assert.equal(stored.find((r) => r.name === `mail._domainkey.${ZONE}`)?.content, dkimKey);
    assert.equal(stored.find((r) => r.name === `_dmarc.${ZONE}`)?.content, 'v=DMARC1; p=none; note="quoted" \\ back');
    await driver!.check();
  });

  it('refuses invalid records before calling PowerDNS', async () => {
    const before = await driver!.getZone(ZONE);
    await assert.rejects(driver!.putZone(ZONE, [...defaults(), { name: `evil.other.test`, type: 'A', ttl: 3600, content: '192.0.2.1' }]), /records\[\d+\]\.name/);
    await assert.rejects(driver!.putZone(ZONE, [{ name: ZONE, type: 'TXT', ttl: 3600, content: 'line\nbreak' }]), /records\[0\]\.content/);
    await assert.rejects(driver!.putZone('bad zone', []), /domain/);
    assert.deepEqual(await driver!.getZone(ZONE), before);
  });

  it('deletes a zone, idempotently', async () => {
    assert.equal(await driver!.deleteZone(ZONE), true);
    assert.equal(await driver!.deleteZone(ZONE), false);
    assert.deepEqual(await driver!.listZones(), []);
    await assert.rejects(driver!.getZone(ZONE), /does not exist/);
    // The instance answers REFUSED for zones it no longer holds, so +short prints nothing.
    assert.deepEqual(await dig('A', ZONE), []);
  });
});
