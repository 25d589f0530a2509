import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../core/errors.ts';
import { defaultZoneRecords, fromPowerDnsContent, quoteTxt, toPowerDnsContent, unquoteTxt } from './zone-record.ts';
import { validateZoneRecords, type ZoneRecord } from '../protocol/zone-record.ts';

const ZONE = 'example.com';
const record = (overrides: Partial<Record<keyof ZoneRecord, unknown>>): Record<string, unknown> => ({ name: ZONE, type: 'A', ttl: 3600, content: '192.0.2.1', ...overrides });

describe('validateZoneRecords', () => {
  it('accepts one good record of each type and resolves @', () => {
    const good = [
      record({ name: '@' }),
      record({ name: `www.${ZONE}`, type: 'AAAA', content: '2001:db8::1' }),
      record({ type: 'MX', content: `10 mail.${ZONE}` }),
      record({ name: `shop.${ZONE}`, type: 'CNAME', content: 'shops.example.net' }),
      record({ type: 'TXT', content: 'v=spf1 mx -all' }),
      record({ type: 'NS', content: 'ns1.example.net' }),
      record({ name: `_imaps._tcp.${ZONE}`, type: 'SRV', content: `0 1 993 mail.${ZONE}` }),
      record({ type: 'CAA', content: '0 issue "letsencrypt.org"' }),
      record({ name: `*.${ZONE}` }),
      record({ name: `_dmarc.${ZONE}`, type: 'TXT', content: 'v=DMARC1; p=none' }),
    ];
    const records = validateZoneRecords(ZONE, good);
    assert.equal(records[0]!.name, ZONE);
    assert.equal(records.length, good.length);
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['newline in a name', record({ name: `www\n.${ZONE}` }), /records\[0\]\.name/],
    ['quote in a name', record({ name: `w"w.${ZONE}` }), /records\[0\]\.name/],
    ['semicolon in a name', record({ name: `w;w.${ZONE}` }), /records\[0\]\.name/],
    ['braces in a name', record({ name: `{w}.${ZONE}` }), /records\[0\]\.name/],
    ['space in a name', record({ name: `w w.${ZONE}` }), /records\[0\]\.name/],
    ['NUL in a name', record({ name: `w\0.${ZONE}` }), /records\[0\]\.name/],
    ['64-character label', record({ name: `${'a'.repeat(64)}.${ZONE}` }), /records\[0\]\.name/],
    ['254+ character name', record({ name: `${'abcdefghi.'.repeat(25)}${ZONE}` }), /records\[0\]\.name/],
    ['cyrillic look-alike name', record({ name: `www.exаmple.com` }), /records\[0\]\.name/],
    ['empty name', record({ name: '' }), /records\[0\]\.name/],
    ['trailing dot', record({ name: `www.${ZONE}.` }), /records\[0\]\.name/],
    ['name outside the zone', record({ name: 'www.example.net' }), /records\[0\]\.name: must be example\.com or a name inside it/],
    ['name that only ends like the zone', record({ name: 'badexample.com' }), /records\[0\]\.name/],
    ['unknown type', record({ type: 'PTR' }), /records\[0\]\.type/],
    ['SOA type', record({ type: 'SOA' }), /records\[0\]\.type/],
    ['ttl below a minute', record({ ttl: 5 }), /records\[0\]\.ttl/],
    ['fractional ttl', record({ ttl: 3600.5 }), /records\[0\]\.ttl/],
    ['ttl as string', record({ ttl: '3600' }), /records\[0\]\.ttl/],
    ['A with IPv6', record({ content: '2001:db8::1' }), /records\[0\]\.content/],
    ['A with trailing newline', record({ content: '192.0.2.1\n' }), /records\[0\]\.content/],
    ['A out of range', record({ content: '192.0.2.256' }), /records\[0\]\.content/],
    ['AAAA with IPv4', record({ type: 'AAAA', content: '192.0.2.1' }), /records\[0\]\.content/],
    ['AAAA in upper case', record({ type: 'AAAA', content: '2001:DB8::1' }), /records\[0\]\.content/],
    ['MX without priority', record({ type: 'MX', content: `mail.${ZONE}` }), /records\[0\]\.content/],
    ['MX priority too big', record({ type: 'MX', content: `70000 mail.${ZONE}` }), /records\[0\]\.content/],
    ['MX with two spaces', record({ type: 'MX', content: `10  mail.${ZONE}` }), /records\[0\]\.content/],
    ['MX target with semicolon', record({ type: 'MX', content: '10 mail.example.com;' }), /records\[0\]\.content/],
    ['CNAME target with space', record({ name: `x.${ZONE}`, type: 'CNAME', content: 'a b.example.net' }), /records\[0\]\.content/],
    ['CNAME at the apex', record({ type: 'CNAME', content: 'example.net' }), /records\[0\]\.type/],
    ['NS with an address', record({ type: 'NS', content: '192.0.2.1' }), /records\[0\]\.content/],
    ['TXT with newline', record({ type: 'TXT', content: 'a\nb' }), /records\[0\]\.content/],
    ['TXT with NUL', record({ type: 'TXT', content: 'a\0b' }), /records\[0\]\.content/],
    ['TXT with tab', record({ type: 'TXT', content: 'a\tb' }), /records\[0\]\.content/],
    ['TXT with unicode', record({ type: 'TXT', content: 'café' }), /records\[0\]\.content/],
    ['empty TXT', record({ type: 'TXT', content: '' }), /records\[0\]\.content/],
    ['TXT over 2048 characters', record({ type: 'TXT', content: 'a'.repeat(2049) }), /records\[0\]\.content/],
    ['SRV name without service labels', record({ name: `sip.${ZONE}`, type: 'SRV', content: `0 1 5060 sip.${ZONE}` }), /records\[0\]\.name/],
    ['SRV with port out of range', record({ name: `_sip._udp.${ZONE}`, type: 'SRV', content: `0 1 65536 sip.${ZONE}` }), /records\[0\]\.content/],
    ['CAA with unknown tag', record({ type: 'CAA', content: '0 issuer "letsencrypt.org"' }), /records\[0\]\.content/],
    ['CAA with unquoted value', record({ type: 'CAA', content: '0 issue letsencrypt.org' }), /records\[0\]\.content/],
    ['CAA with quote inside', record({ type: 'CAA', content: '0 issue "lets"encrypt.org"' }), /records\[0\]\.content/],
    ['content not a string', record({ content: 42 }), /records\[0\]\.content/],
  ];
  for (const [label, input, field] of cases) {
    it(`refuses a ${label}`, () => {
      assert.throws(() => validateZoneRecords(ZONE, [input]), (error: unknown) => error instanceof ValidationError && field.test(error.message));
    });
  }

  it('refuses set-level conflicts', () => {
    const cname = record({ name: `x.${ZONE}`, type: 'CNAME', content: 'a.example.net' });
    assert.throws(() => validateZoneRecords(ZONE, [cname, record({ name: `x.${ZONE}` })]), /records\[1\]: x\.example\.com has a CNAME/);
    assert.throws(() => validateZoneRecords(ZONE, [cname, { ...cname, content: 'b.example.net' }]), /only one CNAME/);
    assert.throws(() => validateZoneRecords(ZONE, [record({}), record({})]), /records\[1\]: duplicates/);
    assert.throws(() => validateZoneRecords(ZONE, [record({}), record({ content: '192.0.2.2', ttl: 60 })]), /records\[1\]\.ttl: .*share one TTL/);
  });

  it('refuses a bad zone name and a non-array', () => {
    assert.throws(() => validateZoneRecords('example.com;', []), /zone/);
    assert.throws(() => validateZoneRecords(ZONE, {}), /records: must be an array/);
  });
});

describe('defaultZoneRecords', () => {
  const input = { domain: ZONE, address: '192.0.2.10', mailAddress: '192.0.2.20', nameservers: ['ns1.fleet.example', 'ns2.fleet.example'] };
  const summary = (records: ZoneRecord[]): string[] => records.map((r) => `${r.name} ${r.type} ${r.content}`).sort();

  it('points the site, mail and the mail helpers where they belong', () => {
    assert.deepEqual(summary(defaultZoneRecords(input)), [
      'autoconfig.example.com A 192.0.2.20',
      'autodiscover.example.com A 192.0.2.20',
      'example.com A 192.0.2.10',
      'example.com MX 10 mail.example.com',
      'example.com NS ns1.fleet.example',
      'example.com NS ns2.fleet.example',
      'mail.example.com A 192.0.2.20',
      'webmail.example.com A 192.0.2.20',
      'www.example.com A 192.0.2.10',
    ]);
  });

  it('adds AAAA for the apex and www. only when ipv6 is given', () => {
    const records = defaultZoneRecords({ ...input, ipv6: '2001:db8::10' });
    assert.deepEqual(summary(records.filter((r) => r.type === 'AAAA')), ['example.com AAAA 2001:db8::10', 'www.example.com AAAA 2001:db8::10']);
    assert.equal(defaultZoneRecords(input).filter((r) => r.type === 'AAAA').length, 0);
  });

  it('refuses bad input by field', () => {
    assert.throws(() => defaultZoneRecords({ ...input, address: '2001:db8::1' }), /address/);
    assert.throws(() => defaultZoneRecords({ ...input, mailAddress: '' }), /mailAddress/);
    assert.throws(() => defaultZoneRecords({ ...input, nameservers: [] }), /nameservers/);
    assert.throws(() => defaultZoneRecords({ ...input, nameservers: ['ns1 .x'] }), /nameservers\[0\]/);
    assert.throws(() => defaultZoneRecords({ ...input, ipv6: '::g' }), /ipv6/);
    assert.throws(() => defaultZoneRecords({ ...input, domain: `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.com` }), /records\[\d+\]\.name/);
  });
});

describe('PowerDNS content form', () => {
  it('adds trailing dots to host names and removes them again', () => {
    const cases: [ZoneRecord['type'], string, string][] = [
      ['MX', '10 mail.example.com', '10 mail.example.com.'],
      ['CNAME', 'a.example.net', 'a.example.net.'],
      ['NS', 'ns1.example.net', 'ns1.example.net.'],
      ['SRV', '0 1 993 mail.example.com', '0 1 993 mail.example.com.'],
      ['A', '192.0.2.1', '192.0.2.1'],
      ['CAA', '0 issue "letsencrypt.org"', '0 issue "letsencrypt.org"'],
    ];
    for (const [type, content, wire] of cases) {
      assert.equal(toPowerDnsContent({ type, content }), wire);
      assert.equal(fromPowerDnsContent(type, wire), content);
    }
  });

  it('quotes TXT, escapes quotes and backslashes, and splits at 255 characters', () => {
    assert.equal(quoteTxt('v=spf1 mx -all'), '"v=spf1 mx -all"');
    assert.equal(quoteTxt('say "hi" \\o/'), '"say \\"hi\\" \\\\o/"');
    const long = 'x'.repeat(255) + 'y'.repeat(10);
    assert.equal(quoteTxt(long), `"${'x'.repeat(255)}" "${'y'.repeat(10)}"`);
    for (const text of ['v=spf1 mx -all', 'say "hi" \\o/', long, 'a;b {c}']) assert.equal(unquoteTxt(quoteTxt(text)), text);
    assert.equal(unquoteTxt('"caf\\195\\169"'), 'caf\u00c3\u00a9');
  });
});
