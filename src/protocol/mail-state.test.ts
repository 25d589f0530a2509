import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../core/errors.ts';
import { validateMailState, type MailState } from './mail-state.ts';

const HASH = '{SHA512-CRYPT}$6$abcdefgh$ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNoZmFrZWhhc2g./';

const goodMailState = (): MailState => ({
  domains: [
    { domain: 'example.com', account: 'alice', suspended: false },
    { domain: 'moved.example.org', account: 'bob', suspended: false, relayTo: '127.0.21.3', proxyTo: '127.0.21.3' },
  ],
  mailboxes: [
    { address: 'info@example.com', passwordHash: HASH, quotaMb: 100, suspended: false },
    { address: 'old@example.com', passwordHash: HASH, quotaMb: 0, suspended: true },
  ],
  forwarders: [{ source: 'sales@example.com', destinations: ['info@example.com', 'someone@elsewhere.net'] }],
  pipeForwarders: [{ source: 'tickets@example.com', command: '/usr/local/bin/ticket-intake' }],
  trustedNetworks: ['127.0.21.2', '192.0.2.0/24'],
});

function refusedField(mutate: (state: Record<string, unknown> & MailState) => void): string {
  const state = goodMailState() as Record<string, unknown> & MailState;
  mutate(state);
  try {
    validateMailState(state);
  } catch (error) {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
    return error.field ?? '';
  }
  assert.fail('the state was accepted');
}

describe('validateMailState', () => {
  it('accepts a good state and returns an equal copy', () => {
    const input = goodMailState();
    const result = validateMailState(input);
    assert.deepEqual(result, goodMailState());
    assert.notEqual(result.mailboxes, input.mailboxes);
  });

  const refusals: [string, (s: MailState & Record<string, unknown>) => void, string][] = [
    ['newline in a local part', (s) => (s.mailboxes[1]!.address = 'old\n@example.com'), 'mailboxes[1].address'],
    ['newline in a domain', (s) => (s.domains[0]!.domain = 'example.com\nmydestination = x'), 'domains[0].domain'],
    ['colon in an address (passwd-file field separator)', (s) => (s.mailboxes[0]!.address = 'in:fo@example.com'), 'mailboxes[0].address'],
    ['space in an address', (s) => (s.forwarders[0]!.destinations[1] = 'a b@elsewhere.net'), 'forwarders[0].destinations[1]'],
    ['upper case address', (s) => (s.mailboxes[0]!.address = 'Info@example.com'), 'mailboxes[0].address'],
    ['mailbox of an undeclared domain', (s) => (s.mailboxes[0]!.address = 'info@other.net'), 'mailboxes[0].address'],
    ['duplicate mailbox', (s) => (s.mailboxes[1]!.address = 'info@example.com'), 'mailboxes[1].address'],
    ['duplicate domain', (s) => (s.domains[1]!.domain = 'example.com'), 'domains[1].domain'],
    ['plain password', (s) => (s.mailboxes[0]!.passwordHash = 'secret'), 'mailboxes[0].passwordHash'],
    ['hash with a newline', (s) => (s.mailboxes[0]!.passwordHash = `${HASH}\nevil::::::proxy=y`), 'mailboxes[0].passwordHash'],
    ['hash with a colon', (s) => (s.mailboxes[0]!.passwordHash = `${HASH}:0:0`), 'mailboxes[0].passwordHash'],
    ['other scheme', (s) => (s.mailboxes[0]!.passwordHash = '{PLAIN}secret'), 'mailboxes[0].passwordHash'],
    ['negative quota', (s) => (s.mailboxes[0]!.quotaMb = -1), 'mailboxes[0].quotaMb'],
    ['fractional quota', (s) => (s.mailboxes[0]!.quotaMb = 1.5), 'mailboxes[0].quotaMb'],
    ['quota as a string', (s) => ((s.mailboxes[0] as unknown as Record<string, unknown>).quotaMb = '100'), 'mailboxes[0].quotaMb'],
    ['suspended as a string', (s) => ((s.mailboxes[0] as unknown as Record<string, unknown>).suspended = 'no'), 'mailboxes[0].suspended'],
    ['relay to a host name', (s) => (s.domains[1]!.relayTo = 'child.example.net'), 'domains[1].relayTo'],
    ['proxy to an address with a port', (s) => (s.domains[1]!.proxyTo = '127.0.21.3:143'), 'domains[1].proxyTo'],
    ['relative pipe command', (s) => (s.pipeForwarders[0]!.command = 'bin/intake'), 'pipeForwarders[0].command'],
    ['pipe command with arguments', (s) => (s.pipeForwarders[0]!.command = '/bin/sh -c id'), 'pipeForwarders[0].command'],
    ['pipe command with traversal', (s) => (s.pipeForwarders[0]!.command = '/usr/../bin/sh'), 'pipeForwarders[0].command'],
    ['forwarder without destinations', (s) => (s.forwarders[0]!.destinations = []), 'forwarders[0].destinations'],
    ['trusted network with garbage', (s) => (s.trustedNetworks[1] = '192.0.2.0/24 0.0.0.0/0'), 'trustedNetworks[1]'],
    ['bad account name', (s) => (s.domains[0]!.account = 'Alice'), 'domains[0].account'],
    ['unknown field', (s) => ((s.mailboxes[0] as unknown as Record<string, unknown>).suspend = true), 'mailboxes[0].suspend'],
    ['missing list', (s) => delete (s as Partial<MailState>).forwarders, 'forwarders'],
  ];
  for (const [what, mutate, field] of refusals) {
    it(`refuses ${what}, naming ${field}`, () => assert.equal(refusedField(mutate), field));
  }

  it('refuses a state that is not an object', () => {
    assert.throws(() => validateMailState(null), ValidationError);
    assert.throws(() => validateMailState([]), ValidationError);
  });
});
