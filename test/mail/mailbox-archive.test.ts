/**
 * The bulk half of a move's copy step with the real tar: a mailbox streamed from one node's mail
 * root into another's arrives whole (uidlist included) and owned by the mail user; a message seen
 * twice (renamed from new/ to cur/ while tar read) arrives once; a mailbox the target already
 * holds mail in is left alone; a broken stream places nothing and leaves no staging folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { exportMailbox, importMailbox } from '../../src/mail/mailbox-archive.ts';
import { mailboxHome } from '../../src/mail/dovecot-config.ts';
import { lookupMailSystemIds } from '../../src/mail/mail-system.ts';

const ADDRESS = 'box@archive.test';

function writeMaildir(home: string, messages: number): void {
  for (const part of ['cur', 'new', 'tmp', '.Sent/cur', '.Sent/new', '.Sent/tmp']) mkdirSync(join(home, 'Maildir', part), { recursive: true });
  for (let i = 0; i < messages; i++) writeFileSync(join(home, 'Maildir', 'cur', `1700000000.M${i}P1.src:2,S`), `Subject: ${i}\n\nbody ${i}\n`);
  writeFileSync(join(home, 'Maildir', '.Sent', 'cur', '1700000001.M1P1.src:2,S'), 'Subject: sent\n\nsent\n');
  writeFileSync(join(home, 'Maildir', 'dovecot-uidlist'), '3 V1700000000 N4 G0123456789abcdef\n1 G0123456789abcdef0123456789abcdef :1700000000.M0P1.src\n');
  writeFileSync(join(home, 'Maildir', 'tmp', 'half-written'), 'not yet');
}

function roots(t: { after(fn: () => void): void }): { source: string; target: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fleetpanel-archive-'));
  // The mail user extracts: it must reach the target's mail root, as on a node.
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const source = join(dir, 'source');
  const target = join(dir, 'target');
  mkdirSync(source);
  mkdirSync(target, { mode: 0o755 });
  return { source, target };
}

test('a mailbox streamed into a node that lacks it arrives whole, owned by the mail user', async (t) => {
  const ids = await lookupMailSystemIds();
  const { source, target } = roots(t);
  writeMaildir(mailboxHome({ mailRoot: source }, ADDRESS), 50);
  const result = await importMailbox({ mailRoot: target }, ids, ADDRESS, exportMailbox({ mailRoot: source }, ADDRESS));
  assert.deepEqual(result, { placed: true });
  const home = mailboxHome({ mailRoot: target }, ADDRESS);
  assert.equal(readdirSync(join(home, 'Maildir', 'cur')).length, 50);
  assert.equal(readdirSync(join(home, 'Maildir', '.Sent', 'cur')).length, 1);
  assert.match(readFileSync(join(home, 'Maildir', 'dovecot-uidlist'), 'utf8'), /G0123456789abcdef0123456789abcdef :1700000000\.M0P1\.src/);
  assert.deepEqual(readdirSync(join(home, 'Maildir', 'tmp')), [], 'files being written are not copied');
  assert.equal(statSync(join(home, 'Maildir', 'cur', '1700000000.M7P1.src:2,S')).uid, ids.vmailUid);
  assert.deepEqual(readdirSync(join(target, 'archive.test')), ['box'], 'no staging folder is left');
});

test('a message archived under new/ and cur/ arrives once, as the cur/ file', async (t) => {
  const ids = await lookupMailSystemIds();
  const { source, target } = roots(t);
  const home = mailboxHome({ mailRoot: source }, ADDRESS);
  writeMaildir(home, 3);
  writeFileSync(join(home, 'Maildir', 'new', '1700000000.M1P1.src'), 'Subject: 1\n\nbody 1\n');
  writeFileSync(join(home, 'Maildir', 'new', '1700000009.M9P1.src'), 'Subject: 9\n\nunseen\n');
  await importMailbox({ mailRoot: target }, ids, ADDRESS, exportMailbox({ mailRoot: source }, ADDRESS));
  const copy = mailboxHome({ mailRoot: target }, ADDRESS);
  assert.deepEqual(readdirSync(join(copy, 'Maildir', 'new')), ['1700000009.M9P1.src']);
  assert.equal(readdirSync(join(copy, 'Maildir', 'cur')).length, 3);
});

test('a target that already holds mail in the mailbox is left as it was', async (t) => {
  const ids = await lookupMailSystemIds();
  const { source, target } = roots(t);
  writeMaildir(mailboxHome({ mailRoot: source }, ADDRESS), 5);
  const home = mailboxHome({ mailRoot: target }, ADDRESS);
  mkdirSync(join(home, 'Maildir', 'cur'), { recursive: true });
  writeFileSync(join(home, 'Maildir', 'cur', 'draft:2,D'), 'Subject: draft\n\n');
  chownSync(home, ids.vmailUid, ids.vmailGid);
  const result = await importMailbox({ mailRoot: target }, ids, ADDRESS, exportMailbox({ mailRoot: source }, ADDRESS));
  assert.equal(result.placed, false);
  assert.deepEqual(readdirSync(join(home, 'Maildir', 'cur')), ['draft:2,D']);
  assert.deepEqual(readdirSync(join(target, 'archive.test')), ['box']);
});

test('a stream that breaks off places nothing and leaves no staging folder', async (t) => {
  const ids = await lookupMailSystemIds();
  const { source, target } = roots(t);
  writeMaildir(mailboxHome({ mailRoot: source }, ADDRESS), 200);
  const broken = new PassThrough();
  const archive = exportMailbox({ mailRoot: source }, ADDRESS);
  let sent = 0;
  archive.on('data', (chunk: Buffer) => {
    sent += chunk.length;
    if (sent > 20_000) {
      archive.destroy();
      broken.destroy(new Error('connection reset'));
    } else broken.write(chunk);
  });
  await assert.rejects(importMailbox({ mailRoot: target }, ids, ADDRESS, broken), /broke off|tar could not extract/);
  assert.equal(existsSync(mailboxHome({ mailRoot: target }, ADDRESS)), false);
  assert.deepEqual(readdirSync(join(target, 'archive.test')), []);
  // and a garbage stream is refused the same way
  await assert.rejects(importMailbox({ mailRoot: target }, ids, ADDRESS, Readable.from([Buffer.alloc(4096, 7)])), /tar could not extract/);
  assert.deepEqual(readdirSync(join(target, 'archive.test')), []);
});
