import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FleetError } from '../core/errors.ts';
import { checkDedistribute, checkDistribute, missingGuids, parseGrace } from './distribution-rules.ts';
import { addMailCopies } from './mail-copies.ts';
import { EMPTY_MAIL_STATE, type MailState } from '../protocol/mail-state.ts';

const child = { alias: 'mail1', roles: ['mail'], status: 'ready', local: false };
const parent = { alias: 'parent', roles: ['mail', 'web', 'dns'], status: 'ready', local: true };
const alice = { username: 'alice', ipv6: false, mailChild: null };

function refusal(fn: () => void): { kind: string; message: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof FleetError);
    return { kind: error.kind, message: error.message };
  }
  assert.fail('expected a refusal');
}

test('distribution: each restriction refuses with its reason', () => {
  assert.doesNotThrow(() => checkDistribute(alice, child, [], false));
  assert.match(refusal(() => checkDistribute({ ...alice, mailChild: 'mail2' }, child, [], false)).message, /one child per workload.*'mail2'/);
  assert.equal(refusal(() => checkDistribute({ ...alice, mailChild: 'mail1' }, child, [], false)).kind, 'conflict');
  assert.match(refusal(() => checkDistribute({ ...alice, ipv6: true }, child, [], false)).message, /IPv6/);
  assert.match(refusal(() => checkDistribute(alice, { ...child, roles: ['web'] }, [], false)).message, /mail role/);
  assert.equal(refusal(() => checkDistribute(alice, { ...child, status: 'offline' }, [], false)).kind, 'node_unavailable');
  // Degraded: refused when the mail daemons are what is down, taken when only something else is.
  const dovecotDown = refusal(() => checkDistribute(alice, { ...child, status: 'degraded', servicesDown: ['dovecot'] }, [], false));
  assert.equal(dovecotDown.kind, 'node_unavailable');
  assert.match(dovecotDown.message, /degraded: dovecot not running/);
  assert.doesNotThrow(() => checkDistribute(alice, { ...child, status: 'degraded', servicesDown: ['webmail'] }, [], false));
  assert.match(refusal(() => checkDistribute(alice, parent, [], false)).message, /--mail-node local/);
  const pipes = [{ source: 'a@example.com', command: '/usr/bin/true' }];
  assert.match(refusal(() => checkDistribute(alice, child, pipes, false)).message, /a@example.com \| \/usr\/bin\/true.*--drop-pipe-forwarders/);
  assert.doesNotThrow(() => checkDistribute(alice, child, pipes, true));
  assert.match(refusal(() => checkDedistribute(alice, parent)).message, /already on the parent/);
  assert.doesNotThrow(() => checkDedistribute({ ...alice, mailChild: 'mail1' }, parent));
});

test('grace durations and missing GUIDs', () => {
  assert.equal(parseGrace('7d'), 604_800);
  assert.equal(parseGrace('30s'), 30);
  assert.throws(() => parseGrace('7 days'), /duration/);
  assert.deepEqual(missingGuids(['a', 'b', 'c'], ['c', 'a', 'x']), ['b']);
});

test('a grace copy routes to the mail node and keeps its mailboxes for doveadm; the store wins over copies; a draining copy relays but is not proxied', () => {
  const mailbox = { address: 'u@example.com', passwordHash: '{SHA512-CRYPT}$6$x$y', quotaMb: 0, suspended: false };
  const state: MailState = structuredClone({ ...EMPTY_MAIL_STATE, domains: [], mailboxes: [], trustedNetworks: [] });
  addMailCopies(state, [{ domain: 'example.com', account: 'alice', suspended: false, phase: 'grace', mailboxes: [mailbox], mailNodeAddress: '127.0.0.1', parentAddress: '127.0.0.1' }], '127.0.0.2');
  assert.deepEqual(state.domains, [{ domain: 'example.com', account: 'alice', suspended: false, relayTo: '127.0.0.1', proxyTo: '127.0.0.1' }]);
  assert.deepEqual(state.mailboxes, [mailbox]);
  assert.deepEqual(state.trustedNetworks, ['127.0.0.1']);
  addMailCopies(state, [{ domain: 'example.com', account: 'alice', suspended: false, phase: 'staging', mailboxes: [mailbox], mailNodeAddress: '127.0.0.1' }], '127.0.0.2');
  assert.equal(state.domains.length, 1);
  assert.equal(state.mailboxes.length, 1);
  const staging: MailState = structuredClone({ ...EMPTY_MAIL_STATE, domains: [], mailboxes: [], trustedNetworks: [] });
  addMailCopies(staging, [{ domain: 'example.com', account: 'alice', suspended: false, phase: 'staging', mailboxes: [mailbox], mailNodeAddress: '127.0.0.1' }], '127.0.0.2');
  assert.deepEqual(staging.domains, [{ domain: 'example.com', account: 'alice', suspended: false }]);
  const parent: MailState = structuredClone({ ...EMPTY_MAIL_STATE, domains: [{ domain: 'example.com', account: 'alice', suspended: false, relayTo: '127.0.0.2', proxyTo: '127.0.0.2' }], mailboxes: [], trustedNetworks: [] });
  addMailCopies(parent, [{ domain: 'example.com', account: 'alice', suspended: false, phase: 'draining', mailboxes: [mailbox], mailNodeAddress: '127.0.0.2' }], '127.0.0.1');
  assert.deepEqual(parent.domains, [{ domain: 'example.com', account: 'alice', suspended: false, relayTo: '127.0.0.2' }]);
});
