/**
 * Two nodes' real mail instances side by side, as on the local cluster: node A on 127.0.21.2
 * (the parent, rerouting and proxying one domain) and node B on 127.0.21.3 (the mail child).
 * Mail goes in over SMTP and comes out over IMAP and POP3; mailboxes move with doveadm sync.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { isAlive, waitFor } from '../../src/agent/daemon-process.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { FleetError, ValidationError } from '../../src/core/errors.ts';
import { MailDriver } from '../../src/mail/mail.driver.ts';
import { hashMailPassword } from '../../src/mail/mail-password.ts';
import { type MailState } from '../../src/protocol/mail-state.ts';
import { lookupMailSystemIds } from '../../src/mail/mail-system.ts';
import { imapClient, imapLoginSucceeds, imapSubjects, pop3Retrieve, sendMail, withImap } from './mail-clients.ts';
import { TEST_NET } from '../test-net.ts';

const NODE_A = `${TEST_NET}.21.2`;
const NODE_B = `${TEST_NET}.21.3`;

const ALICE = { address: 'alice@alpha.test', password: 'alice-secret-1' };
const SAM = { address: 'sam@alpha.test', password: 'sam-secret-1' };
const TINY = { address: 'tiny@alpha.test', password: 'tiny-secret-1' };
const BOB = { address: 'bob@moved.test', password: 'bob-secret-1' };

/** Every file below `dir`, with its contents (and mtime), to prove that a refused state wrote nothing. */
function snapshot(dir: string, withMtime = true): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path), `${withMtime ? statSync(path).mtimeMs : ''} ${readFileSync(path, 'utf8')}`);
    }
  };
  walk(dir);
  return files;
}

/**
 * An SMTP session stopped in the middle: EHLO, MAIL and RCPT are answered now, the message goes
 * with `finish`. Postfix decides a HOLD at RCPT, so this is a session begun under one configuration
 * and ended under the next.
 */
async function openSmtpSession(host: string, to: string, protocol: { port: number; hello: 'EHLO' | 'LHLO' } = { port: 25, hello: 'EHLO' }): Promise<{ finish(subject: string): Promise<void> }> {
  const socket = connect({ host, port: protocol.port });
  let buffered = '';
  let waiting: ((reply: string) => void) | undefined;
  const deliver = () => {
    const end = buffered.search(/^\d{3} .*\r\n/m);
    if (end < 0 || !waiting) return;
    const lineEnd = buffered.indexOf('\r\n', end) + 2;
    const reply = buffered.slice(0, lineEnd);
    buffered = buffered.slice(lineEnd);
    const resolve = waiting;
    waiting = undefined;
    resolve(reply);
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    deliver();
  });
  const reply = (command?: string): Promise<string> => {
    const answer = new Promise<string>((resolve) => (waiting = resolve));
    if (command !== undefined) socket.write(`${command}\r\n`);
    deliver();
    return answer;
  };
  const expect = async (command: string | undefined, code: string) => {
    const answer = await reply(command);
    assert.ok(answer.startsWith(code), `${command ?? 'greeting'}: ${answer}`);
  };
  await expect(undefined, '220');
  await expect(`${protocol.hello} tester.fleet.internal`, '250');
  await expect('MAIL FROM:<tester@example.net>', '250');
  await expect(`RCPT TO:<${to}>`, '250');
  return {
    async finish(subject) {
      await expect('DATA', '354');
      await expect(`From: tester@example.net\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\n${subject}\r\n.`, '250');
      await expect('QUIT', '221');
      socket.end();
    },
  };
}

describe('mail drivers against real Dovecot and Postfix instances', () => {
  let workDir: string;
  let nodeA: MailDriver;
  let nodeB: MailDriver;
  let layoutA: NodeLayout;
  let pipeCommand: string;
  let pipeOutput: string;
  const started: MailDriver[] = [];
  const startedPids: number[] = [];
  const hashes = new Map<string, string>();
  const hash = (password: string) => {
    if (!hashes.has(password)) hashes.set(password, hashMailPassword(password));
    return hashes.get(password)!;
  };

  const stateA = (overrides: { aliceSuspended?: boolean } = {}): MailState => ({
    domains: [
      { domain: 'alpha.test', account: 'alpha', suspended: false },
      { domain: 'moved.test', account: 'moved', suspended: false, relayTo: NODE_B, proxyTo: NODE_B },
    ],
    mailboxes: [
      { address: ALICE.address, passwordHash: hash(ALICE.password), quotaMb: 50, suspended: overrides.aliceSuspended ?? false },
      { address: SAM.address, passwordHash: hash(SAM.password), quotaMb: 50, suspended: true },
      { address: TINY.address, passwordHash: hash(TINY.password), quotaMb: 1, suspended: false },
    ],
    forwarders: [{ source: 'info@alpha.test', destinations: [ALICE.address] }],
    pipeForwarders: [{ source: 'tickets@alpha.test', command: pipeCommand }],
    trustedNetworks: [],
  });

  const stateB = (): MailState => ({
    domains: [
      { domain: 'moved.test', account: 'moved', suspended: false },
      { domain: 'alpha.test', account: 'alpha', suspended: false },
    ],
    mailboxes: [
      { address: BOB.address, passwordHash: hash(BOB.password), quotaMb: 50, suspended: false },
      { address: ALICE.address, passwordHash: hash(ALICE.password), quotaMb: 50, suspended: false },
    ],
    forwarders: [],
    pipeForwarders: [],
    // The parent's address: logins it proxies here keep the client's address and count as secured.
    trustedNetworks: [NODE_A],
  });

  const waitForMessages = (node: MailDriver, address: string, count: number) =>
    waitFor(async () => (await node.mailboxDigest(address)).messages >= count, 15_000, `${count} message(s) for ${address}`);

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'fleet-mail-'));
    // Dovecot and the pipe run as fleetvmail and reach Maildirs by absolute path through here.
    chmodSync(workDir, 0o711);
    const ids = await lookupMailSystemIds();
    pipeOutput = join(workDir, 'pipe-output');
    mkdirSync(pipeOutput);
    chownSync(pipeOutput, ids.vmailUid, ids.vmailGid);
    pipeCommand = join(workDir, 'capture-pipe');
    writeFileSync(pipeCommand, `#!/bin/sh\ncat > ${pipeOutput}/message.$$\n`, { mode: 0o755 });

    const log = () => undefined;
    layoutA = new NodeLayout(join(workDir, 'a'));
    nodeA = new MailDriver({ layout: layoutA, address: NODE_A, log });
    nodeB = new MailDriver({ layout: new NodeLayout(join(workDir, 'b')), address: NODE_B, log });
    for (const node of [nodeA, nodeB]) {
      started.push(node);
      await node.start();
      for (const status of await node.status()) if (status.pid !== undefined) startedPids.push(status.pid);
    }
    await nodeA.apply(stateA());
    await nodeB.apply(stateB());
  });

  after(async () => {
    for (const node of started) await node.stop().catch(() => undefined);
    // Belt and braces: whatever is still alive of what this test started goes by its PID.
    for (const pid of startedPids) {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('runs both instances on their own addresses', async () => {
    for (const node of [nodeA, nodeB]) {
      const statuses = await node.status();
      assert.deepEqual(statuses.map((s) => [s.name, s.running]), [['dovecot', true], ['postfix', true]]);
    }
  });

  it('starts idempotently: a second start keeps the running instances', async () => {
    const pids = (await nodeA.status()).map((s) => s.pid);
    await nodeA.start();
    assert.deepEqual((await nodeA.status()).map((s) => s.pid), pids);
  });

  it('applies an unchanged state without touching a daemon', async () => {
    assert.deepEqual(await nodeA.apply(stateA()), { dovecotChanged: false, postfixChanged: false });
  });

  it('delivers SMTP mail that IMAP (STARTTLS and implicit TLS) and POP3 read back', async () => {
    await sendMail(NODE_A, { to: ALICE.address, subject: 'hello alice' });
    await waitForMessages(nodeA, ALICE.address, 1);
    const login = { host: NODE_A, user: ALICE.address, pass: ALICE.password };
    assert.deepEqual(await imapSubjects(login), ['hello alice']);
    assert.deepEqual(await imapSubjects({ ...login, implicitTls: true }), ['hello alice']);
    const messages = await pop3Retrieve(NODE_A, ALICE.address, ALICE.password);
    assert.equal(messages.length, 1);
    assert.match(messages[0]!, /^Subject: hello alice$/m);
    const ids = await lookupMailSystemIds();
    assert.equal(statSync(layoutA.mail('alpha.test', 'alice', 'Maildir')).uid, ids.vmailUid);
  });

  it('refuses a wrong password', async () => {
    assert.equal(await imapLoginSucceeds({ host: NODE_A, user: ALICE.address, pass: 'wrong' }), false);
  });

  it('refuses logins of a suspended mailbox over IMAP and POP3, and lets it in again once unsuspended', async () => {
    assert.equal(await imapLoginSucceeds({ host: NODE_A, user: SAM.address, pass: SAM.password }), false);
    await assert.rejects(pop3Retrieve(NODE_A, SAM.address, SAM.password), /PASS refused/);

    await nodeA.apply(stateA({ aliceSuspended: true }));
    assert.equal(await imapLoginSucceeds({ host: NODE_A, user: ALICE.address, pass: ALICE.password }), false);
    await nodeA.apply(stateA());
    assert.equal(await imapLoginSucceeds({ host: NODE_A, user: ALICE.address, pass: ALICE.password }), true);
  });

  it('ends open sessions on kick', async () => {
    const client = imapClient({ host: NODE_A, user: ALICE.address, pass: ALICE.password });
    await client.connect();
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await nodeA.kick([ALICE.address]);
    await closed;
    assert.equal(client.usable, false);
  });

  it('delivers through forwarders and pipe forwarders', async () => {
    await sendMail(NODE_A, { to: 'info@alpha.test', subject: 'via forwarder' });
    await sendMail(NODE_A, { to: 'tickets@alpha.test', subject: 'via pipe' });
    await waitForMessages(nodeA, ALICE.address, 2);
    await waitFor(() => readdirSync(pipeOutput).length > 0, 15_000, 'the pipe command to run');
    const piped = readFileSync(join(pipeOutput, readdirSync(pipeOutput)[0]!), 'utf8');
    assert.match(piped, /^Subject: via pipe$/m);
    const ids = await lookupMailSystemIds();
    assert.equal(statSync(join(pipeOutput, readdirSync(pipeOutput)[0]!)).uid, ids.vmailUid, 'the pipe runs as the mail user');
  });

  it('enforces the quota: a message over it is refused at delivery', async () => {
    await sendMail(NODE_A, { to: TINY.address, subject: 'too big', text: 'x'.repeat(76).concat('\n').repeat(20_000) });
    const logFile = layoutA.log('postfix');
    await waitFor(() => /to=<tiny@alpha\.test>.*status=bounced.*[Qq]uota/.test(readFileSync(logFile, 'utf8')), 15_000, 'the over-quota bounce');
    assert.equal((await nodeA.mailboxDigest(TINY.address)).messages, 0);
  });

  it('relays a rerouted domain from node A into the mailbox on node B', async () => {
    await sendMail(NODE_A, { to: BOB.address, subject: 'for bob via A' });
    await waitForMessages(nodeB, BOB.address, 1);
    assert.deepEqual(await imapSubjects({ host: NODE_B, user: BOB.address, pass: BOB.password }), ['for bob via A']);
  });

  it('proxies IMAP and POP3 logins at node A to the mailbox on node B', async () => {
    assert.deepEqual(await imapSubjects({ host: NODE_A, user: BOB.address, pass: BOB.password }), ['for bob via A']);
    const messages = await pop3Retrieve(NODE_A, BOB.address, BOB.password);
    assert.equal(messages.length, 1);
    assert.equal(await imapLoginSucceeds({ host: NODE_A, user: BOB.address, pass: 'wrong' }), false, 'node B still checks the password');
  });

  it('syncs a mailbox with its folders to another node, after which the digests match', async () => {
    await withImap({ host: NODE_A, user: ALICE.address, pass: ALICE.password }, async (client) => {
      await client.mailboxCreate('Archive');
      const lock = await client.getMailboxLock('INBOX');
      try {
        await client.messageCopy('1', 'Archive');
      } finally {
        lock.release();
      }
    });
    const source = await nodeA.mailboxDigest(ALICE.address);
    assert.equal(source.messages, 3);

    await nodeA.syncMailboxTo(ALICE.address, NODE_B, nodeB.doveadmPassword());
    assert.deepEqual(await nodeB.mailboxDigest(ALICE.address), source);
    assert.deepEqual(await imapSubjects({ host: NODE_B, user: ALICE.address, pass: ALICE.password }, 'Archive'), ['hello alice']);
  });

  it('keeps mail that only the target has when syncing again, and leaves the source alone', async () => {
    await sendMail(NODE_B, { to: ALICE.address, subject: 'arrived at B after the reroute' });
    await waitForMessages(nodeB, ALICE.address, 4);
    await sendMail(NODE_A, { to: ALICE.address, subject: 'late mail at A' });
    await waitForMessages(nodeA, ALICE.address, 4);
    const source = await nodeA.mailboxDigest(ALICE.address);

    await nodeA.syncMailboxTo(ALICE.address, NODE_B, nodeB.doveadmPassword());
    const target = await nodeB.mailboxDigest(ALICE.address);
    assert.equal(target.messages, source.messages + 1);
    for (const guid of source.guids) assert.ok(target.guids.includes(guid), `message ${guid} reached the target`);
    assert.deepEqual(await nodeA.mailboxDigest(ALICE.address), source, 'the source is not modified');
    const subjects = await imapSubjects({ host: NODE_B, user: ALICE.address, pass: ALICE.password });
    assert.ok(subjects.includes('arrived at B after the reroute') && subjects.includes('late mail at A'));
  });

  it('refuses a sync with a wrong doveadm password', async () => {
    await assert.rejects(nodeA.syncMailboxTo(ALICE.address, NODE_B, 'not-the-password-of-b'));
  });

  it('removes a mailbox from the old node after the move', async () => {
    await nodeA.removeMailbox(ALICE.address);
    assert.equal(existsSync(layoutA.mail('alpha.test', 'alice')), false);
    assert.equal((await nodeA.mailboxDigest(ALICE.address)).messages, 0);
    assert.equal((await nodeB.mailboxDigest(ALICE.address)).messages, 5);
  });

  it('refuses a newline in a local part with nothing written', async () => {
    const before = snapshot(join(layoutA.root, 'etc'));
    const appliedBefore = readFileSync(layoutA.agent('mail', 'applied-state.json'), 'utf8');
    const bad = stateA();
    bad.mailboxes.push({ address: 'evil\nuser@alpha.test', passwordHash: hash('x'), quotaMb: 1, suspended: false });
    await assert.rejects(nodeA.apply(bad), (error: unknown) => error instanceof ValidationError && error.field === 'mailboxes[3].address');
    assert.deepEqual(snapshot(join(layoutA.root, 'etc')), before);
    assert.equal(readFileSync(layoutA.agent('mail', 'applied-state.json'), 'utf8'), appliedBefore);
  });

  it('puts the previous files back when a checker refuses the new configuration', async () => {
    // Without its certificate Dovecot's own checker (doveconf) refuses any configuration.
    const certificate = layoutA.etc('dovecot', 'tls', 'node.crt');
    renameSync(certificate, `${certificate}.away`);
    try {
      const before = snapshot(join(layoutA.root, 'etc'), false);
      // A change of the configuration itself (a passwd-file change alone is not checked: Dovecot reads those files at each lookup).
      const changed = stateA();
      changed.trustedNetworks = ['192.0.2.7'];
      changed.mailboxes[0]!.quotaMb = 60;
      await assert.rejects(nodeA.apply(changed), (error: unknown) => error instanceof FleetError && error.kind === 'validation' && /dovecot rejected/.test(error.message));
      assert.deepEqual(snapshot(join(layoutA.root, 'etc'), false), before);
    } finally {
      renameSync(`${certificate}.away`, certificate);
    }
    assert.deepEqual(await nodeA.apply(stateA()), { dovecotChanged: false, postfixChanged: false });
  });

  it('keeps an LMTP delivery under way when a mailbox is added: no Dovecot reload cuts it after DATA, so Postfix never delivers it twice', async () => {
    // What Postfix's lmtp client does, held open between RCPT and the end of DATA.
    const session = await openSmtpSession(NODE_A, ALICE.address, { port: 24, hello: 'LHLO' });
    const more = stateA();
    more.mailboxes.push({ address: 'extra@alpha.test', passwordHash: hash('extra-secret-1'), quotaMb: 0, suspended: false });
    assert.deepEqual(await nodeA.apply(more), { dovecotChanged: true, postfixChanged: true });
    assert.equal(await imapLoginSucceeds({ host: NODE_A, user: 'extra@alpha.test', pass: 'extra-secret-1' }), true, 'the new mailbox logs in once apply returned');
    // A reload would have answered 421 Shutting down here (after Dovecot had saved the message).
    await session.finish('over lmtp while a mailbox was added');
    await nodeA.apply(stateA());
    const subjects = await imapSubjects({ host: NODE_A, user: ALICE.address, pass: ALICE.password });
    assert.equal(subjects.filter((s) => s === 'over lmtp while a mailbox was added').length, 1);
  });

  it('keeps an LMTP delivery under way across a Dovecot reload: the session ends on the old processes, delivered once', async () => {
    const session = await openSmtpSession(NODE_A, ALICE.address, { port: 24, hello: 'LHLO' });
    // New trusted networks (a parent that changed) are in dovecot.conf: Dovecot reloads.
    const moved = stateA();
    moved.trustedNetworks = ['192.0.2.8'];
    assert.equal((await nodeA.apply(moved)).dovecotChanged, true);
    await session.finish('over lmtp across a reload');
    await nodeA.apply(stateA());
    const subjects = await imapSubjects({ host: NODE_A, user: ALICE.address, pass: ALICE.password });
    assert.equal(subjects.filter((s) => s === 'over lmtp across a reload').length, 1);
  });

  it('refuses a lookup table with a line Postfix would drop when building it, and leaves the live table alone', async () => {
    // The build of a changed table is its check (nothing parses it again before the reload): a
    // duplicate key, which postmap only warns about, must refuse the change.
    const aliases = layoutA.etc('postfix', 'virtual-aliases');
    const source = readFileSync(aliases, 'utf8');
    const dbBefore = readFileSync(`${aliases}.db`);
    const firstLine = source.split('\n').find((line) => line.trim() !== '');
    assert.ok(firstLine, 'node A has forwarders, so its alias table has lines');
    writeFileSync(aliases, `${source}${firstLine}\n`);
    try {
      await assert.rejects(nodeA.postfix.buildMaps([aliases]), (error: unknown) => error instanceof ValidationError && /postfix rejected its configuration: .*duplicate entry/.test(error.message));
      assert.deepEqual(readFileSync(`${aliases}.db`), dbBefore, 'the live table is the one before');
      assert.equal(existsSync(`${aliases}.candidate`) || existsSync(`${aliases}.candidate.db`), false, 'the candidate is gone');
    } finally {
      writeFileSync(aliases, source);
    }
    assert.deepEqual(await nodeA.apply(stateA()), { dovecotChanged: false, postfixChanged: true }, 'the restored source is built again');
  });

  it('consults the sysdata sender table, which apply never overwrites', async () => {
    const senderAccess = layoutA.etc('postfix', 'fleet-sender-access');
    writeFileSync(senderAccess, 'blocked@example.net REJECT sender is blacklisted\n');
    try {
      await nodeA.apply(stateA({ aliceSuspended: true }));
      await nodeA.apply(stateA());
      assert.equal(readFileSync(senderAccess, 'utf8'), 'blocked@example.net REJECT sender is blacklisted\n');
      await nodeA.reloadPostfix();
      await assert.rejects(sendMail(NODE_A, { from: 'blocked@example.net', to: ALICE.address, subject: 'spam' }), /blacklisted/);
    } finally {
      writeFileSync(senderAccess, '');
      await nodeA.reloadPostfix();
    }
  });

  it('delivers the mail it held once the hold is lifted, also from a session that was under way at the reload', async () => {
    const held = stateA();
    held.domains[0]!.holdDelivery = true;
    await nodeA.apply(held);
    await sendMail(NODE_A, { to: ALICE.address, subject: 'held before the release' });
    const session = await openSmtpSession(NODE_A, ALICE.address);
    const logFile = layoutA.log('postfix');
    const releases = () => (readFileSync(logFile, 'utf8').match(/Released from hold/g) ?? []).length;
    const releasedBefore = releases();
    const lifted = nodeA.apply(stateA());
    // The session's message reaches the hold queue only after the release that came with the new state.
    // The lift checks and reloads Postfix first, which takes seconds on a loaded machine.
    await waitFor(() => releases() > releasedBefore, 90_000, 'the hold queue to be released');
    await session.finish('held across the reload');
    await lifted;
    const login = { host: NODE_A, user: ALICE.address, pass: ALICE.password };
    await waitFor(async () => {
      const subjects = await imapSubjects(login);
      return subjects.includes('held before the release') && subjects.includes('held across the reload');
    }, 30_000, 'both held messages in the mailbox');
  });

  it('stops with its sessions: an LMTP session under way does not outlive the Dovecot master', async () => {
    await openSmtpSession(NODE_A, ALICE.address, { port: 24, hello: 'LHLO' });
    const master = (await nodeA.dovecot.status()).pid!;
    process.kill(-master, 0); // the master leads a process group of its own, which its sessions are in
    await nodeA.dovecot.stop();
    assert.equal(isAlive(master), false);
    assert.throws(() => process.kill(-master, 0), 'nothing left of its process group');
  });
});
