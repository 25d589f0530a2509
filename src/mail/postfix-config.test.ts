import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NodeLayout } from '../agent/node-layout.ts';
import { mailPaths } from './mail-paths.ts';
import { validateMailState, type MailState } from '../protocol/mail-state.ts';
import { pipeServiceName, renderPostfixFiles, type PostfixRenderInput } from './postfix-config.ts';

const HASH = '{SHA512-CRYPT}$6$salt$hash';
const allPaths = mailPaths(new NodeLayout('/srv/node'));

const state: MailState = {
  domains: [
    { domain: 'example.com', account: 'alice', suspended: false },
    { domain: 'moved.example.org', account: 'bob', suspended: false, relayTo: '127.0.21.3' },
  ],
  mailboxes: [
    { address: 'info@example.com', passwordHash: HASH, quotaMb: 100, suspended: false },
    { address: 'boss@moved.example.org', passwordHash: HASH, quotaMb: 0, suspended: false },
  ],
  forwarders: [
    { source: 'sales@example.com', destinations: ['info@example.com', 'someone@elsewhere.net'] },
    { source: 'info@example.com', destinations: ['archive@elsewhere.net'] },
  ],
  pipeForwarders: [
    { source: 'tickets@example.com', command: '/usr/local/bin/ticket-intake' },
    { source: 'sales@example.com', command: '/usr/local/bin/ticket-intake' },
  ],
  trustedNetworks: ['192.0.2.1'],
};

const input: PostfixRenderInput = {
  state,
  paths: allPaths.postfix,
  address: '127.0.21.2',
  hostname: 'mail-a.fleet.internal',
  vmailUser: 'fleetvmail',
  certificate: allPaths.dovecot.certificate,
  certificateKey: allPaths.dovecot.certificateKey,
};

describe('renderPostfixFiles', () => {
  const files = renderPostfixFiles(input);
  const service = pipeServiceName('/usr/local/bin/ticket-intake');

  it('always consults the two sysdata access tables', () => {
    assert.match(files.mainCf, /^smtpd_client_restrictions = check_client_access cidr:\/srv\/node\/etc\/postfix\/fleet-client-access\.cidr$/m);
    assert.match(files.mainCf, /^smtpd_sender_restrictions = check_sender_access texthash:\/srv\/node\/etc\/postfix\/fleet-sender-access$/m);
  });

  it('keeps queue, data and log inside the node root and listens on the node address only', () => {
    assert.match(files.mainCf, /^queue_directory = \/srv\/node\/lib\/postfix\/queue$/m);
    assert.match(files.mainCf, /^data_directory = \/srv\/node\/lib\/postfix\/data$/m);
    assert.match(files.mainCf, /^maillog_file = \/srv\/node\/log\/postfix\.log$/m);
    assert.match(files.mainCf, /^inet_interfaces = all$/m);
    assert.match(files.masterCf, /^127\.0\.21\.2:25 inet n - n - - smtpd$/m);
    assert.doesNotMatch(files.masterCf, /^smtp\s+inet/m);
    assert.doesNotMatch(files.masterCf, /^\S+\s+\S+\s+\S+\s+\S+\s+y\s/m, 'nothing may run chrooted');
  });

  it('delivers local domains over LMTP to its own Dovecot and lets a parent relay', () => {
    assert.match(files.mainCf, /^virtual_transport = lmtp:inet:127\.0\.21\.2:24$/m);
    assert.match(files.mainCf, /^mynetworks = 127\.0\.0\.0\/8 192\.0\.2\.1$/m);
    assert.equal(files.virtualDomains, 'example.com OK\n');
    // A relayed domain's mailboxes stay listed (Postfix ignores them while the domain is relayed), so a route change never takes them away from a domain still local.
    assert.equal(files.virtualMailboxes, 'boss@moved.example.org OK\ninfo@example.com OK\n');
    // The route is in the transport table too, so a process that opens the tables halfway through a commit cannot lose it.
    assert.match(files.transport, /^example\.com lmtp:inet:127\.0\.21\.2:24$/m);
  });

  it('relays a rerouted domain to its node instead of accepting it as local', () => {
    assert.equal(files.relayDomains, 'moved.example.org OK\n');
    assert.match(files.transport, /^moved\.example\.org relay:\[127\.0\.21\.3\]:25$/m);
  });

  it('merges forwarders and pipes per source and keeps a mailbox its own copy', () => {
    assert.equal(
      files.virtualAliases,
      [
        'info@example.com info@example.com, archive@elsewhere.net',
        `sales@example.com info@example.com, someone@elsewhere.net, sales=example.com@${service}.pipe.invalid`,
        `tickets@example.com tickets=example.com@${service}.pipe.invalid`,
        '',
      ].join('\n'),
    );
  });

  it('runs each distinct pipe command once, as the mail user, through its own pipe service', () => {
    assert.match(files.transport, new RegExp(`^${service}\\.pipe\\.invalid ${service}:$`, 'm'));
    assert.equal(files.masterCf.split(`${service} unix - n n - - pipe`).length, 2);
    assert.match(files.masterCf, /^ {2}flags=Rq user=fleetvmail argv=\/usr\/local\/bin\/ticket-intake$/m);
    assert.match(files.internalRecipients, /^\.pipe\.invalid REJECT$/m);
    assert.match(files.mainCf, /^smtpd_relay_restrictions = check_recipient_access hash:\S+internal-recipients, permit_mynetworks, reject_unauth_destination$/m);
  });

  it('names pipe services after the command, not its position', () => {
    assert.equal(pipeServiceName('/a'), pipeServiceName('/a'));
    assert.notEqual(pipeServiceName('/a'), pipeServiceName('/b'));
    assert.match(pipeServiceName('/a'), /^pipe-[0-9a-f]{12}$/);
  });
});

describe('delivery hold', () => {
  it('puts a held domain into the hold queue through the recipient map, and only that domain', () => {
    const held: MailState = { ...state, domains: [{ domain: 'example.com', account: 'alice', suspended: false, holdDelivery: true }, state.domains[1]!] };
    const files = renderPostfixFiles({ ...input, state: held });
    assert.match(files.internalRecipients, /^example\.com HOLD mailboxes are being copied in$/m);
    assert.doesNotMatch(files.internalRecipients, /moved\.example\.org/);
    assert.doesNotMatch(renderPostfixFiles(input).internalRecipients, /HOLD/);
  });

  it('accepts holdDelivery only as a boolean', () => {
    const base = { domains: [{ domain: 'x.example', account: 'alice', suspended: false, holdDelivery: 'yes' }], mailboxes: [], forwarders: [], pipeForwarders: [], trustedNetworks: [] };
    assert.throws(() => validateMailState(base), /domains\[0\]\.holdDelivery/);
    assert.equal(validateMailState({ ...base, domains: [{ ...base.domains[0], holdDelivery: true }] }).domains[0]!.holdDelivery, true);
  });
});
