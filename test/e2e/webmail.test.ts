/**
 * Webmail on a real cluster: the parent on 127.0.39.1 (every role) and a mail-only child on .2.
 * An account's mail is distributed to the child; Roundcube is logged in to at webmail.<domain>
 * on the child's address (where DNS sends users) and on the parent's address (a cached DNS
 * answer: the parent's nginx forwards to the child), and both list the message sent over SMTP.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTestCluster } from './cluster-fixture.ts';
import { imapSubjects, sendMail } from '../mail/mail-clients.ts';
import { RoundcubeSession } from '../mail/roundcube-client.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { TEST_NET } from '../test-net.ts';
import { processUids } from '../processes.ts';
import { lookupUser } from '../../src/php/system-users.ts';
import { WEBMAIL_USER } from '../../src/webmail/webmail.driver.ts';

const BLOCK = `${TEST_NET}.39`;
const PARENT = `${BLOCK}.1`;
const CHILD = `${BLOCK}.2`;
const PASSWORD = 'violet-tugboat-marmalade-91';
const MAIL_PASSWORD = 'copper-lantern-orchard-57';

const fixture = useTestCluster({ block: BLOCK, children: [{ alias: 'mail1', roles: ['mail'], link: 'token' }] });

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${fixture.info.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${fixture.info.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

async function waitForSubject(address: string, subject: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await imapSubjects({ host: CHILD, user: address, pass: MAIL_PASSWORD }).catch((): string[] => [])).includes(subject)) {
    if (Date.now() > deadline) assert.fail(`${subject} did not arrive in ${address} on the child`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The parent node's nginx.conf and the server files it includes (sites and forwarded hosts, one each). */
function parentNginx(): string {
  const layout = new NodeLayout(fixture.cluster.nodeRoot('parent'));
  const sitesDir = layout.etc('nginx', 'sites.d');
  const servers = existsSync(sitesDir) ? readdirSync(sitesDir).filter((name) => name.endsWith('.conf')).sort() : [];
  return [readFileSync(layout.etc('nginx', 'nginx.conf'), 'utf8'), ...servers.map((name) => readFileSync(join(sitesDir, name), 'utf8'))].join('');
}

describe('webmail', () => {
  test('Roundcube at webmail.<domain> on the mail child and through the parent shows the mailbox, a wrong password is refused, and after the move back the parent serves it', async () => {
    const domain = 'webmail-far.test';
    const address = `reader@${domain}`;
    const subject = `webmail check ${Date.now()}`;
    const created = await api('POST', '/api/accounts', { username: 'wmfar', domain, password: PASSWORD });
    assert.equal(created.status, 201, String(created.body.message));
    const mailbox = await api('POST', '/api/accounts/wmfar/mail/mailboxes', { address, password: MAIL_PASSWORD });
    assert.equal(mailbox.status, 201, String(mailbox.body.message));
    const moved = await fixture.cli(['account', 'modify', 'wmfar', '--mail-node', 'mail1']);
    assert.equal(moved.code, 0, moved.stderr);

    // Sent to the parent, as a sender with a cached MX would: it relays to the child.
    await sendMail(PARENT, { to: address, subject });
    await waitForSubject(address, subject);

    for (const [where, connectTo] of [['on the child', CHILD], ['through the parent', PARENT]] as const) {
      const session = new RoundcubeSession(connectTo, `webmail.${domain}`);
      assert.equal(await session.login(address, MAIL_PASSWORD), true, `login ${where}`);
      assert.deepEqual(await session.inboxSubjects(), [subject], `inbox ${where}`);
      const intruder = new RoundcubeSession(connectTo, `webmail.${domain}`);
      assert.equal(await intruder.login(address, 'not-the-password-at-all'), false, `a wrong password ${where}`);
    }

    assert.ok(parentNginx().includes(`server_name webmail.${domain};`), 'the parent forwards the webmail name to the child');
    // One server block answers every webmail.<domain> of a node, for the domains it holds alone.
    assert.equal(await new RoundcubeSession(CHILD, 'webmail.not-held.test').loginPageStatus(), 404, 'a domain the child does not hold');
    // nginx's workers (www-data) read every domain's TLS key at the handshake: Roundcube runs as a user of its own.
    const roundcubeUids = processUids('php-fpm: pool webmail');
    assert.ok(roundcubeUids.size > 0, 'the logins left Roundcube workers running');
    assert.deepEqual([...roundcubeUids], [lookupUser(WEBMAIL_USER)!.uid]);
    assert.notEqual(lookupUser(WEBMAIL_USER)!.uid, lookupUser('www-data')!.uid);

    // Back on the parent: its own Roundcube serves the name the forward used to take.
    const back = await fixture.cli(['account', 'modify', 'wmfar', '--mail-node', 'local', '--grace', '2s']);
    assert.equal(back.code, 0, back.stderr);
    const parentLayout = new NodeLayout(fixture.cluster.nodeRoot('parent'));
    assert.ok(existsSync(parentLayout.lib('webmail', 'domains', domain)), 'the parent holds the domain again');
    assert.equal(await new RoundcubeSession(CHILD, `webmail.${domain}`).loginPageStatus(), 404, 'the child no longer serves it');
    // nginx matches the host name ignoring its case, as browsers may send it.
    assert.equal(await new RoundcubeSession(PARENT, `WebMail.${domain.toUpperCase()}`).loginPageStatus(), 200);
    assert.ok(!parentNginx().includes(`server_name webmail.${domain};`), 'the forward to the child is gone');
    const session = new RoundcubeSession(PARENT, `webmail.${domain}`);
    assert.equal(await session.login(address, MAIL_PASSWORD), true, 'login on the parent after the move back');
    assert.deepEqual(await session.inboxSubjects(), [subject], 'inbox on the parent after the move back');
  });
});
