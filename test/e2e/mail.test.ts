/**
 * The mail workload end to end on a real cluster: the parent on 127.0.37.1 (its own node with
 * every role) and two mail children on .2 and .3. Accounts are made through the API, mailboxes and
 * forwarders through the CLI and the API; every assertion reads what the daemons really do: mail
 * sent over SMTP to the parent's port 25, read back over IMAP and POP3, logins refused while
 * suspended, config files compared byte for byte, Maildirs looked for on disk.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { useTestCluster, callApi, type ApiResult } from './cluster-fixture.ts';
import { imapLoginSucceeds, imapSubjects, pop3Retrieve, sendMail } from '../mail/mail-clients.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { mailPaths, passdbFileOf, userdbFileOf } from '../../src/mail/mail-paths.ts';
import type { ForwarderView, MailboxView } from '../../src/mail/mail.service.ts';
import { TEST_NET } from '../test-net.ts';

const PARENT = `${TEST_NET}.37.1`;
const PASSWORD = 'violet-tugboat-marmalade-91';
const MAIL_PASSWORD = 'copper-lantern-orchard-57';
const DOMAIN = 'mailer-site.test';
const ALICE = `alice@${DOMAIN}`;

const fixture = useTestCluster({
  block: `${TEST_NET}.37`,
  children: [
    { alias: 'mail1', roles: ['mail'], link: 'token' },
    { alias: 'mail2', roles: ['mail'], link: 'token' },
  ],
});

function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token = fixture.info.token): Promise<ApiResult<T>> {
  return callApi<T>(fixture.info.url, method, path, body, token);
}

async function login(username: string): Promise<string> {
  const result = await api<{ token: string }>('POST', '/api/session', { username, password: PASSWORD }, '');
  assert.equal(result.status, 201, result.body.message);
  return result.body.token;
}

async function createAccount(username: string, domain: string, extra: Record<string, unknown> = {}, token?: string): Promise<void> {
  const created = await api('POST', '/api/accounts', { username, domain, password: PASSWORD, ...extra }, token);
  assert.equal(created.status, 201, created.body.message);
}

async function addMailbox(username: string, address: string, token?: string): Promise<void> {
  const added = await api('POST', `/api/accounts/${username}/mail/mailboxes`, { address, password: MAIL_PASSWORD }, token);
  assert.equal(added.status, 201, added.body.message);
}

/** Delivery is asynchronous (Postfix queues, then LMTP); poll the mailbox until the subject shows up. */
async function waitForSubject(host: string, user: string, subject: string): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const subjects = await imapSubjects({ host, user, pass: MAIL_PASSWORD });
    if (subjects.includes(subject)) return subjects;
    if (Date.now() > deadline) assert.fail(`'${subject}' did not reach ${user} on ${host} within 20 s (has: ${subjects.join(', ')})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Every file of every node's Dovecot and Postfix configuration, with its contents. */
function mailConfigSnapshot(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(path, readFileSync(path, 'utf8'));
    }
  };
  for (const alias of ['parent', 'mail1', 'mail2']) {
    const layout = new NodeLayout(fixture.cluster.nodeRoot(alias));
    walk(layout.etc('dovecot'));
    walk(layout.etc('postfix'));
    const applied = mailPaths(layout).appliedState;
    files.set(applied, readFileSync(applied, 'utf8'));
  }
  return files;
}

const maildirOf = (alias: string, address: string): string => {
  const [local, domain] = address.split('@');
  return new NodeLayout(fixture.cluster.nodeRoot(alias)).mail(domain!, local!, 'Maildir');
};

describe('mail workload on a real cluster', () => {
  test('a mailbox added by the CLI receives SMTP mail at the parent, read back over IMAP and POP3', async () => {
    await createAccount('mailer', DOMAIN);
    const added = await fixture.cli(['mail', 'mailbox', 'add', ALICE, '--password-stdin', '--quota', '100'], `${MAIL_PASSWORD}\n`);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /alice@mailer-site\.test added for account mailer on node parent \(quota 100 MB\)/);

    await sendMail(PARENT, { to: ALICE, subject: 'hello over smtp' });
    assert.deepEqual(await waitForSubject(PARENT, ALICE, 'hello over smtp'), ['hello over smtp']);
    const popped = await pop3Retrieve(PARENT, ALICE, MAIL_PASSWORD);
    assert.equal(popped.length, 1);
    assert.match(popped[0]!, /^Subject: hello over smtp$/m);

    const listed = await api<{ proxiedFrom: string; mailboxes: MailboxView[] }>('GET', '/api/accounts/mailer/mail/mailboxes');
    assert.equal(listed.status, 200);
    assert.equal(listed.body.proxiedFrom, 'parent');
    assert.deepEqual(listed.body.mailboxes, [{ address: ALICE, account: 'mailer', quotaMb: 100, messages: 1 }]);
    const cliList = await fixture.cli(['mail', 'mailbox', 'list', '--account', 'mailer']);
    assert.match(cliList.stdout, /alice@mailer-site\.test\s+100\s+1/);
  });

  test('an address forwarder delivers to its destination; a pipe forwarder is listed as its own type', async () => {
    const forward = await fixture.cli(['mail', 'forwarder', 'add', `sales@${DOMAIN}`, ALICE]);
    assert.equal(forward.code, 0, forward.stderr);
    await sendMail(PARENT, { to: `sales@${DOMAIN}`, subject: 'for sales' });
    await waitForSubject(PARENT, ALICE, 'for sales');

    const pipe = await fixture.cli(['mail', 'forwarder', 'add', `robot@${DOMAIN}`, '--pipe', '/usr/bin/true']);
    assert.equal(pipe.code, 0, pipe.stderr);
    const listed = await api<{ forwarders: ForwarderView[] }>('GET', '/api/accounts/mailer/mail/forwarders');
    assert.deepEqual(listed.body.forwarders, [
      { source: `robot@${DOMAIN}`, type: 'pipe', command: '/usr/bin/true' },
      { source: `sales@${DOMAIN}`, type: 'forward', destinations: [ALICE] },
    ]);
    const removed = await fixture.cli(['mail', 'forwarder', 'remove', `robot@${DOMAIN}`]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /removed robot@mailer-site\.test -> \|\/usr\/bin\/true on node parent/);
  });

  test("an account whose mail is on a child: the parent relays its SMTP and proxies its IMAP logins there", async () => {
    await createAccount('farmail', 'farmail-site.test', { mailNode: 'mail1' });
    const added = await api<{ proxiedFrom: string }>('POST', '/api/accounts/farmail/mail/mailboxes', { address: 'bob@farmail-site.test', password: MAIL_PASSWORD });
    assert.equal(added.status, 201, added.body.message);
    assert.equal(added.body.proxiedFrom, 'mail1');
    await sendMail(PARENT, { to: 'bob@farmail-site.test', subject: 'via the parent' });
    await waitForSubject(PARENT, 'bob@farmail-site.test', 'via the parent');
    assert.ok(existsSync(maildirOf('mail1', 'bob@farmail-site.test')), 'the Maildir is on the child');
    assert.ok(!existsSync(maildirOf('parent', 'bob@farmail-site.test')), 'and not on the parent');
  });

  test('suspend refuses IMAP logins; unsuspend lets them in again', async () => {
    assert.equal((await api('POST', '/api/accounts/mailer/suspend', {})).status, 200);
    assert.equal(await imapLoginSucceeds({ host: PARENT, user: ALICE, pass: MAIL_PASSWORD }), false);
    assert.equal((await api('POST', '/api/accounts/mailer/unsuspend', {})).status, 200);
    assert.equal(await imapLoginSucceeds({ host: PARENT, user: ALICE, pass: MAIL_PASSWORD }), true);
  });

  test("a reseller and a user cannot see or touch another's mailboxes (403) and nothing changes", async () => {
    await createAccount('seller', 'seller-site.test');
    assert.equal((await api('PUT', '/api/resellers/seller', {})).status, 200);
    const seller = await login('seller');
    await createAccount('customer', 'customer-site.test', {}, seller);
    await addMailbox('customer', 'carol@customer-site.test', seller);
    const customer = await login('customer');

    const before = mailConfigSnapshot();
    const mailboxesBefore = (await api<{ mailboxes: MailboxView[] }>('GET', '/api/mail/mailboxes')).body.mailboxes;
    for (const [who, token] of [['reseller', seller], ['user', customer]] as const) {
      const attempts: [string, string, unknown][] = [
        ['GET', '/api/accounts/mailer/mail/mailboxes', undefined],
        ['POST', '/api/accounts/mailer/mail/mailboxes', { address: `intruder@${DOMAIN}`, password: MAIL_PASSWORD }],
        ['DELETE', `/api/accounts/mailer/mail/mailboxes/${ALICE}`, undefined],
        ['PUT', `/api/accounts/mailer/mail/mailboxes/${ALICE}/password`, { password: 'taken-over-by-someone-else-42' }],
        ['GET', '/api/accounts/mailer/mail/forwarders', undefined],
        ['POST', '/api/accounts/mailer/mail/forwarders', { source: `steal@${DOMAIN}`, destinations: ['thief@example.net'] }],
        ['DELETE', `/api/accounts/mailer/mail/forwarders/sales@${DOMAIN}`, undefined],
        ['GET', `/api/mail/domains/${DOMAIN}/account`, undefined],
      ];
      for (const [method, path, body] of attempts) {
        const result = await api(method, path, body, token);
        assert.equal(result.status, 403, `${who} ${method} ${path}: ${result.status} ${result.body.message}`);
      }
      // Nor through its own account, by naming the other's address.
      const sideways = await api('DELETE', `/api/accounts/customer/mail/mailboxes/${ALICE}`, undefined, token);
      assert.equal(sideways.status, 400, sideways.body.message);
      assert.equal(sideways.body.field, 'address');
    }
    const visible = await api<{ mailboxes: MailboxView[] }>('GET', '/api/mail/mailboxes', undefined, customer);
    assert.deepEqual(visible.body.mailboxes.map((m) => m.address), ['carol@customer-site.test']);
    assert.deepEqual(mailConfigSnapshot(), before, 'every mail config file on every node is unchanged');
    assert.deepEqual((await api<{ mailboxes: MailboxView[] }>('GET', '/api/mail/mailboxes')).body.mailboxes, mailboxesBefore);
    assert.equal(await imapLoginSucceeds({ host: PARENT, user: ALICE, pass: MAIL_PASSWORD }), true, "alice's password is still hers");

    // The reseller does manage its own customer's mail.
    await addMailbox('customer', 'dave@customer-site.test', seller);
  });

  test('bad inputs are refused with 400 naming the field; every mail config file on every node is unchanged', async () => {
    const before = mailConfigSnapshot();
    const long = 'a'.repeat(65);
    const longAddress = `${'b'.repeat(60)}@${Array.from({ length: 4 }, () => 'c'.repeat(60)).join('.')}.${DOMAIN}`;
    const mailboxCases: [string, unknown, string][] = [
      ['newline', `ev\nil@${DOMAIN}`, 'address'],
      ['quote', `ev"il@${DOMAIN}`, 'address'],
      ['single quote', `ev'il@${DOMAIN}`, 'address'],
      ['semicolon', `ev;il@${DOMAIN}`, 'address'],
      ['braces', `ev{il}@${DOMAIN}`, 'address'],
      ['space', `ev il@${DOMAIN}`, 'address'],
      ['NUL', `ev\u0000il@${DOMAIN}`, 'address'],
      ['colon (passwd-file separator)', `ev:il@${DOMAIN}`, 'address'],
      ['64+ character local part', `${long}@${DOMAIN}`, 'address'],
      ['254+ character address', longAddress, 'address'],
      ['path traversal', `../../etc@${DOMAIN}`, 'address'],
      ['unicode look-alike', `аlice@${DOMAIN}`, 'address'],
      ['unicode look-alike domain', `alice@mаiler-site.test`, 'address'],
      ['empty', '', 'address'],
      ['another domain', 'alice@elsewhere.test', 'address'],
    ];
    for (const [label, address, field] of mailboxCases) {
      const result = await api('POST', '/api/accounts/mailer/mail/mailboxes', { address, password: MAIL_PASSWORD });
      assert.equal(result.status, 400, `mailbox ${label}: ${result.status} ${result.body.message}`);
      assert.equal(result.body.field, field, `mailbox ${label}: ${result.body.message}`);
    }
    const forwarderCases: [string, Record<string, unknown>, string][] = [
      ['newline in source', { source: `a\nb@${DOMAIN}`, destinations: [ALICE] }, 'source'],
      ['newline in destination', { source: `x@${DOMAIN}`, destinations: [`a\nb@example.net`] }, 'destinations.0'],
      ['comma list in one destination', { source: `x@${DOMAIN}`, destinations: ['a@example.net,b@example.net'] }, 'destinations.0'],
      ['braces in destination', { source: `x@${DOMAIN}`, destinations: ['{a}@example.net'] }, 'destinations.0'],
      ['NUL in destination', { source: `x@${DOMAIN}`, destinations: ['a\u0000@example.net'] }, 'destinations.0'],
      ['unicode look-alike destination', { source: `x@${DOMAIN}`, destinations: ['bob@exаmple.net'] }, 'destinations.0'],
      ['empty destinations', { source: `x@${DOMAIN}`, destinations: [] }, 'destinations'],
      ['pipe path traversal', { source: `x@${DOMAIN}`, pipe: '/usr/bin/../../bin/sh' }, 'pipe'],
      ['relative pipe', { source: `x@${DOMAIN}`, pipe: 'bin/sh' }, 'pipe'],
      ['pipe with arguments', { source: `x@${DOMAIN}`, pipe: '/bin/sh -c id' }, 'pipe'],
      ['pipe with semicolon', { source: `x@${DOMAIN}`, pipe: '/usr/bin/true;id' }, 'pipe'],
      ['pipe with quote', { source: `x@${DOMAIN}`, pipe: '/usr/bin/"true"' }, 'pipe'],
      ['pipe with newline', { source: `x@${DOMAIN}`, pipe: '/usr/bin/true\nid' }, 'pipe'],
      ['both destinations and pipe', { source: `x@${DOMAIN}`, destinations: [ALICE], pipe: '/usr/bin/true' }, 'destinations'],
      ['source at another domain', { source: 'x@elsewhere.test', destinations: [ALICE] }, 'source'],
      ['empty source', { source: '', destinations: [ALICE] }, 'source'],
    ];
    for (const [label, body, field] of forwarderCases) {
      const result = await api('POST', '/api/accounts/mailer/mail/forwarders', body);
      assert.equal(result.status, 400, `forwarder ${label}: ${result.status} ${result.body.message}`);
      assert.equal(result.body.field, field, `forwarder ${label}: ${result.body.message}`);
    }
    const quota = await api('POST', '/api/accounts/mailer/mail/mailboxes', { address: `q@${DOMAIN}`, password: MAIL_PASSWORD, quotaMb: 999_999 });
    assert.equal(quota.status, 400);
    assert.equal(quota.body.field, 'quotaMb');
    const weak = await api('POST', '/api/accounts/mailer/mail/mailboxes', { address: `w@${DOMAIN}`, password: 'abc' });
    assert.equal(weak.status, 400);
    assert.equal(weak.body.field, 'password');
    const inPath = await api('DELETE', `/api/accounts/mailer/mail/mailboxes/${encodeURIComponent('../../etc/passwd')}`);
    assert.equal(inPath.status, 400);
    assert.equal(inPath.body.field, 'address');
    const cli = await fixture.cli(['mail', 'forwarder', 'add', `x@${DOMAIN}`, '--pipe', '/usr/bin/../bin/sh']);
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /^fleetpanel: pipe: /);
    assert.deepEqual(mailConfigSnapshot(), before, 'every mail config file on every node is byte-for-byte unchanged');
  });

  test('the plan bounds the number of mailboxes', async () => {
    assert.equal((await fixture.cli(['plan', 'add', 'tiny', '--disk-mb', '10', '--mailboxes', '1', '--domains', '1'])).code, 0);
    await createAccount('tiny', 'tiny-site.test', { plan: 'tiny' });
    await addMailbox('tiny', 'one@tiny-site.test');
    const second = await api('POST', '/api/accounts/tiny/mail/mailboxes', { address: 'two@tiny-site.test', password: MAIL_PASSWORD });
    assert.equal(second.status, 409, second.body.message);
    assert.match(second.body.message ?? '', /at most 1 mailbox/);
  });

  test('terminate removes the Maildirs and the domain from the node', async () => {
    const maildir = maildirOf('parent', ALICE);
    assert.ok(existsSync(maildir));
    const parentDovecot = mailPaths(new NodeLayout(fixture.cluster.nodeRoot('parent'))).dovecot;
    assert.ok(existsSync(passdbFileOf(parentDovecot, DOMAIN)) && existsSync(userdbFileOf(parentDovecot, DOMAIN)), 'the domain has its own passdb and userdb files');
    const terminated = await api('DELETE', '/api/accounts/mailer');
    assert.equal(terminated.status, 200, terminated.body.message);
    assert.ok(!existsSync(maildir), "alice's Maildir is gone");
    const layout = new NodeLayout(fixture.cluster.nodeRoot('parent'));
    assert.ok(!existsSync(passdbFileOf(mailPaths(layout).dovecot, DOMAIN)), 'the domain has no passdb file any more');
    assert.ok(!existsSync(userdbFileOf(mailPaths(layout).dovecot, DOMAIN)), 'nor a userdb file');
    assert.ok(!readFileSync(mailPaths(layout).postfix.virtualDomains, 'utf8').includes(DOMAIN));

    const farMaildir = maildirOf('mail1', 'bob@farmail-site.test');
    assert.equal((await api('DELETE', '/api/accounts/farmail')).status, 200);
    assert.ok(!existsSync(farMaildir), "the child's Maildir is gone too");
  });
});
