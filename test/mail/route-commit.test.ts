/**
 * A domain that starts being relayed elsewhere (a transfer's or a mail move's route step) changes
 * several of Postfix's lookup tables at once, and they are put in place one rename at a time. A
 * Postfix process (trivial-rewrite, smtpd, cleanup) that opens the tables between two renames
 * must still send the domain's mail to its old or its new destination, never to the domain's MX.
 * Node A (<TEST_NET>.73.2) serves move.test itself and then relays it to node B (.73.3), both real
 * Postfix and Dovecot through MailDriver. A process opens the tables one after the other, so it
 * can see any mix of old and new ones: for each mix, A's Postfix is reloaded with exactly those
 * tables (every process opens them) and a message is sent to A from its trusted network (as its
 * parent relays): it must arrive in the mailbox on A or on B, never bounce.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { isAlive, killInstance, waitFor } from '../../src/agent/daemon-process.ts';
import { MailDriver } from '../../src/mail/mail.driver.ts';
import { writeRenderedFiles } from '../../src/mail/rendered-files.ts';
import { hashMailPassword } from '../../src/mail/mail-password.ts';
import type { MailState } from '../../src/protocol/mail-state.ts';
import { imapSubjects, sendMail } from './mail-clients.ts';
import { TEST_NET } from '../test-net.ts';

const A = `${TEST_NET}.73.2`;
const B = `${TEST_NET}.73.3`;
const PASSWORD = 'route-commit-secret-7';
const ADDRESS = 'info@move.test';

function state(relayTo?: string): MailState {
  return {
    domains: [{ domain: 'move.test', account: 'mover', suspended: false, ...(relayTo ? { relayTo } : {}) }],
    mailboxes: [{ address: ADDRESS, passwordHash: hashMailPassword(PASSWORD), quotaMb: 0, suspended: false }],
    forwarders: [],
    pipeForwarders: [],
    trustedNetworks: [],
  };
}

describe('a domain moving from local delivery to a relay, table by table', () => {
  let workDir: string;
  const nodes: MailDriver[] = [];
  const pids: number[] = [];

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'fleet-route-commit-'));
    // Dovecot runs as fleetvmail and reaches Maildirs by absolute path through here.
    chmodSync(workDir, 0o711);
    for (const [name, address] of [['a', A], ['b', B]] as const) {
      const driver = new MailDriver({ layout: new NodeLayout(join(workDir, name)), address, log: () => undefined });
      await driver.start();
      nodes.push(driver);
      for (const status of await driver.status()) if (status.pid !== undefined) pids.push(status.pid);
    }
    // B holds the mailbox too: it is where the relay leads.
    await nodes[1]!.apply(state());
  });

  after(async () => {
    for (const driver of nodes) await driver.stop().catch(() => undefined);
    for (const pid of pids) if (isAlive(pid)) await killInstance(pid);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  /** Which node's mailbox the message reached; fails with A's log lines about it when neither did. */
  async function arrival(subject: string): Promise<'A' | 'B'> {
    const found: { node?: 'A' | 'B' } = {};
    try {
      await waitFor(
        async () => {
          for (const [name, host] of [['A', A], ['B', B]] as const) {
            const subjects: string[] = await imapSubjects({ host, user: ADDRESS, pass: PASSWORD }).catch(() => []);
            if (subjects.includes(subject)) found.node = name;
          }
          return found.node !== undefined;
        },
        30_000,
        `${subject} to reach A or B`,
      );
    } catch {
      const log = readFileSync(nodes[0]!.postfix.logFilePath(), 'utf8');
      assert.fail(`${subject} reached neither node; A's Postfix said:\n${log.split('\n').filter((line) => /status=(deferred|bounced)|reject/.test(line)).slice(-3).join('\n')}`);
    }
    return found.node!;
  }

  /**
   * For every mix of old and new tables a process can open while a change from `from` to `to` is
   * put in place (each changed table old or new: 2^n cases), reloads Postfix so that every process
   * opens that mix, and sends a message; returns where each arrived, keyed by the new tables.
   */
  async function everyMix(from: MailState, to: MailState): Promise<Map<string, 'A' | 'B'>> {
    const a = nodes[0]!;
    await a.apply(from);
    const arrived = new Map<string, 'A' | 'B'>();
    for (let mix = 0; ; mix++) {
      // The new state's sources and tables, built as a change builds them.
      const written = writeRenderedFiles(a.postfix.render(to));
      const maps = await a.postfix.buildMaps(written.changedPaths);
      const changed = maps.built;
      assert.ok(changed.length >= 3, `the move changes several tables: ${changed.join(', ')}`);
      const fresh = changed.filter((_, bit) => (mix >> bit) & 1);
      for (const table of fresh) renameSync(`${table}.candidate.db`, `${table}.db`);
      await a.postfix.reload();
      const name = fresh.map((table) => basename(table)).join('+') || 'none';
      const subject = `${to.domains[0]!.relayTo ? 'out' : 'back'}-${name}`;
      await sendMail(A, { to: ADDRESS, subject });
      arrived.set(name, await arrival(subject));
      // Back to the state before: its sources, and every table built from them.
      maps.discard();
      writeRenderedFiles(a.postfix.render(from));
      for (const table of a.postfix.lookupTables()) execFileSync('postmap', ['-c', a.postfix.paths.configDir, `hash:${table}`]);
      if (mix === 2 ** changed.length - 1) return arrived;
    }
  }

  it('relaying from now on: whichever tables a process opens old or new, the mail goes to A or to B', async () => {
    const arrived = await everyMix(state(), state(B));
    assert.equal(arrived.get('none'), 'A', JSON.stringify([...arrived]));
    assert.equal([...arrived.values()].at(-1), 'B', JSON.stringify([...arrived]));
  });

  it('delivering here again (a route undone): the same', async () => {
    const arrived = await everyMix(state(B), state());
    assert.equal(arrived.get('none'), 'B', JSON.stringify([...arrived]));
    assert.equal([...arrived.values()].at(-1), 'A', JSON.stringify([...arrived]));
  });
});
