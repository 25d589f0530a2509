import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { groupIntoRrsets, planRrsetChanges, type ApiRrset } from './rrset-plan.ts';
import type { ZoneRecord } from '../protocol/zone-record.ts';

const desiredRecords: ZoneRecord[] = [
  { name: 'example.com', type: 'A', ttl: 3600, content: '192.0.2.10' },
  { name: 'example.com', type: 'MX', ttl: 3600, content: '20 backup.example.com' },
  { name: 'example.com', type: 'MX', ttl: 3600, content: '10 mail.example.com' },
  { name: 'www.example.com', type: 'A', ttl: 3600, content: '192.0.2.10' },
];

const api = (name: string, type: string, ttl: number, contents: string[]): ApiRrset => ({ name, type, ttl, records: contents.map((content) => ({ content, disabled: false })) });

describe('groupIntoRrsets', () => {
  it('groups by name and type with sorted PowerDNS contents', () => {
    const mx = groupIntoRrsets(desiredRecords).find((r) => r.type === 'MX');
    assert.deepEqual(mx, { name: 'example.com', type: 'MX', ttl: 3600, contents: ['10 mail.example.com.', '20 backup.example.com.'] });
  });
});

describe('planRrsetChanges', () => {
  const desired = groupIntoRrsets(desiredRecords);

  it('changes nothing when the zone already matches, in any order', () => {
    const current = [
      api('example.com.', 'SOA', 3600, ['ns1.example.net. hostmaster.example.com. 5 10800 3600 604800 3600']),
      api('www.example.com.', 'A', 3600, ['192.0.2.10']),
      api('example.com.', 'MX', 3600, ['20 backup.example.com.', '10 mail.example.com.']),
      api('example.com.', 'A', 3600, ['192.0.2.10']),
    ];
    assert.deepEqual(planRrsetChanges(current, desired), []);
  });

  it('replaces sets that are missing or differ in content or TTL', () => {
    const current = [api('example.com.', 'A', 3600, ['192.0.2.99']), api('example.com.', 'MX', 60, ['10 mail.example.com.', '20 backup.example.com.'])];
    const changes = planRrsetChanges(current, desired);
    assert.deepEqual(
      changes.map((c) => `${c.changetype} ${c.name} ${c.type}`),
      ['REPLACE example.com. A', 'REPLACE example.com. MX', 'REPLACE www.example.com. A'],
    );
    assert.deepEqual(changes[0]!.records, [{ content: '192.0.2.10', disabled: false }]);
  });

  it('replaces a set holding a disabled record', () => {
    const current = [{ ...api('example.com.', 'A', 3600, []), records: [{ content: '192.0.2.10', disabled: true }] }];
    assert.ok(planRrsetChanges(current, desired).some((c) => c.name === 'example.com.' && c.type === 'A'));
  });

  it('deletes unwanted sets of managed types but leaves SOA and unmanaged types alone', () => {
    const current = [
      api('example.com.', 'SOA', 3600, ['ns1.example.net. hostmaster.example.com. 5 10800 3600 604800 3600']),
      api('old.example.com.', 'A', 3600, ['192.0.2.1']),
      api('example.com.', 'TXT', 3600, ['"v=spf1 -all"']),
      api('1.2.0.192.in-addr.arpa.', 'PTR', 3600, ['example.com.']),
      api('example.com.', 'DNSKEY', 3600, ['257 3 13 abc']),
    ];
    const deletes = planRrsetChanges(current, desired).filter((c) => c.changetype === 'DELETE');
    assert.deepEqual(deletes, [
      { name: 'old.example.com.', type: 'A', changetype: 'DELETE' },
      { name: 'example.com.', type: 'TXT', changetype: 'DELETE' },
    ]);
  });
});
