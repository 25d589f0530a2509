import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NodeLayout } from '../agent/node-layout.ts';
import { renderDovecotFiles, loginEnabledAddresses, type DovecotRenderInput } from './dovecot-config.ts';
import { mailPaths } from './mail-paths.ts';
import type { MailState } from '../protocol/mail-state.ts';

const HASH = '{SHA512-CRYPT}$6$salt$hash';
const paths = mailPaths(new NodeLayout('/srv/node')).dovecot;

const state: MailState = {
  domains: [
    { domain: 'example.com', account: 'alice', suspended: false },
    { domain: 'frozen.example.com', account: 'carol', suspended: true },
    { domain: 'moved.example.org', account: 'bob', suspended: false, proxyTo: '127.0.21.3' },
  ],
  mailboxes: [
    { address: 'info@example.com', passwordHash: HASH, quotaMb: 100, suspended: false },
    { address: 'old@example.com', passwordHash: HASH, quotaMb: 0, suspended: true },
    { address: 'boss@frozen.example.com', passwordHash: HASH, quotaMb: 5, suspended: false },
  ],
  forwarders: [],
  pipeForwarders: [],
  trustedNetworks: ['127.0.21.1', '192.0.2.0/24'],
};

const input: DovecotRenderInput = { state, paths, address: '127.0.21.2', hostname: 'mail-a.fleet.internal', vmail: { uid: 999, gid: 995 } };

describe('renderDovecotFiles', () => {
  const files = renderDovecotFiles(input);

  it('binds every listener to the node address through listen, on the standard ports', () => {
    assert.match(files.config, /^listen = 127\.0\.21\.2$/m);
    assert.doesNotMatch(files.config, /^\s*address = /m);
    for (const port of [143, 993, 110, 995, 24, 12345]) assert.match(files.config, new RegExp(`^\\s+port = ${port}$`, 'm'));
    assert.match(files.config, /^protocols = imap pop3 lmtp$/m);
  });

  it('keeps runtime, state and log files inside the node root', () => {
    assert.match(files.config, /^base_dir = \/srv\/node\/run\/dovecot$/m);
    assert.match(files.config, /^state_dir = \/srv\/node\/lib\/dovecot$/m);
    assert.match(files.config, /^log_path = \/srv\/node\/log\/dovecot\.log$/m);
  });

  it('reads the doveadm password and TLS key from files, never inlines them', () => {
    assert.match(files.config, /^doveadm_password = <\/srv\/node\/etc\/dovecot\/doveadm-password$/m);
    assert.match(files.config, /^ssl_key = <\/srv\/node\/etc\/dovecot\/tls\/node\.key$/m);
  });

  it('trusts the listed networks for proxied logins', () => {
    assert.match(files.config, /^login_trusted_networks = 127\.0\.21\.1 192\.0\.2\.0\/24$/m);
    const untrusted = renderDovecotFiles({ ...input, state: { ...state, trustedNetworks: [] } });
    assert.doesNotMatch(untrusted.config, /login_trusted_networks/);
  });

  it('lets only mailboxes that are neither suspended nor in a suspended domain log in', () => {
    assert.deepEqual([...files.passdb], [['example.com', `info@example.com:${HASH}::::::\n`]]);
    assert.deepEqual(loginEnabledAddresses(state), ['info@example.com']);
  });

  it('still knows suspended mailboxes in the userdb, with their home and quota', () => {
    assert.deepEqual([...files.userdb], [
      [
        'example.com',
        [
          'info@example.com::999:995::/srv/node/mail/example.com/info::userdb_quota_rule=*:storage=100M',
          'old@example.com::999:995::/srv/node/mail/example.com/old::userdb_quota_rule=*:storage=0',
          '',
        ].join('\n'),
      ],
      ['frozen.example.com', 'boss@frozen.example.com::999:995::/srv/node/mail/frozen.example.com/boss::userdb_quota_rule=*:storage=5M\n'],
    ]);
    assert.match(files.config, /^\s+quota = count:User quota$/m);
    assert.match(files.config, /^\s+lmtp_rcpt_check_quota = yes$/m);
  });

  it('finds each domain\'s passdb and userdb file by the login\'s domain', () => {
    assert.match(files.config, /^\s+args = scheme=SHA512-CRYPT username_format=%Lu \/srv\/node\/etc\/dovecot\/auth\/passdb\.d\/%Ld\.passwd$/m);
    assert.match(files.config, /^\s+args = username_format=%Lu \/srv\/node\/etc\/dovecot\/auth\/userdb\.d\/%Ld\.passwd$/m);
  });

  it('proxies every login of a proxied domain, from the node address, leaving the password to the target', () => {
    assert.equal(files.proxyDomains, 'moved.example.org:::::::proxy=y host=127.0.21.3 source_ip=127.0.21.2 nopassword=y\n');
    const proxyPassdb = files.config.indexOf('username_format=%d');
    const localPassdb = files.config.indexOf('scheme=SHA512-CRYPT');
    assert.ok(proxyPassdb > 0 && proxyPassdb < localPassdb, 'the proxy passdb must come first');
  });

  it('renders empty tables for an empty state', () => {
    const empty = renderDovecotFiles({ ...input, state: { domains: [], mailboxes: [], forwarders: [], pipeForwarders: [], trustedNetworks: [] } });
    assert.equal(empty.passdb.size, 0);
    assert.equal(empty.userdb.size, 0);
    assert.equal(empty.proxyDomains, '');
  });
});
