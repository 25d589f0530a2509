import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { returnAddressOf } from '../../src/transfers/return-address.ts';

describe("an undone import's return address", () => {
  test('a mail node linked by IPv4 address is passed as returnTo', () => {
    assert.deepEqual(returnAddressOf('mail1', '192.0.2.10'), { returnTo: '192.0.2.10' });
    assert.deepEqual(returnAddressOf('parent', '127.0.46.1'), { returnTo: '127.0.46.1' });
  });

  test('a mail node linked by host name is left out, with the reason naming the node and its host', () => {
    const back = returnAddressOf('mail1', 'mail1.example.net');
    assert.equal(back.returnTo, undefined);
    assert.ok('why' in back);
    assert.match(back.why, /mail node mail1 is linked by host name \(mail1\.example\.net\)/);
    assert.match(back.why, /without returnTo/);
  });

  test('what the target would refuse as fp-ipv4 is never passed: IPv6, out-of-range and padded octets', () => {
    for (const host of ['2001:db8::1', '256.1.1.1', '10.0.0.01', '10.0.0', 'localhost']) {
      assert.equal(returnAddressOf('m', host).returnTo, undefined, host);
    }
  });
});
