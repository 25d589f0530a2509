/**
 * A mail batch whose checks passed but whose reload fails: every change of it is reported failed,
 * none is acknowledged, and Dovecot and Postfix keep the configuration they had (the files on disk
 * are the previous ones, the previous mailboxes log in and receive, the refused ones do neither).
 * The parent's MailStatePusher (its real batching) in front of a real Dovecot and Postfix on
 * <TEST_NET>.72.2, the node's half done in-process as the agent does it (MailDriver.apply).
 * Dovecot is reloaded before Postfix, so a stopped Postfix master fails the batch after Dovecot
 * already took it: Dovecot must be put back too. A Dovecot master that is gone fails it first.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, killInstance, runningPid, waitFor } from '../../src/agent/daemon-process.ts';
import { NodeLayout } from '../../src/agent/node-layout.ts';
import { MailDriver } from '../../src/mail/mail.driver.ts';
import { MailStatePusher } from '../../src/mail/mail-state-pusher.ts';
import { hashMailPassword } from '../../src/mail/mail-password.ts';
import type { MailAccountRow, MailboxRow } from '../../src/mail/mail.repository.ts';
import type { NodeRow } from '../../src/nodes/nodes.repository.ts';
import { MAIL_STATE_SHAPE, type MailState } from '../../src/protocol/mail-state.ts';
import { AppliedState, stateRequestLine, type StateStep } from '../../src/protocol/keyed-state.ts';
import { imapLoginSucceeds, sendMail } from './mail-clients.ts';
import { TEST_NET } from '../test-net.ts';
import { expectOneFailedBatch } from '../batch-failure.ts';

const ADDRESS = `${TEST_NET}.72.2`;
const node = { id: 1, alias: 'mail1', roles: ['mail'], host: ADDRESS, is_local: 1, status: 'ready' } as unknown as NodeRow;
const PASSWORD = 'batch-secret-1';

describe('a mail batch whose reload fails', () => {
  let workDir: string;
  let mail: MailDriver;
  const startedPids: number[] = [];
  /** The store: the accounts placed on the node and their mailboxes. */
  const accounts: MailAccountRow[] = [];
  const mailboxes: MailboxRow[] = [];
  const pushes: MailState[] = [];
  let pusher: MailStatePusher;

  const remember = async () => {
    for (const status of await mail.status()) if (status.pid !== undefined && !startedPids.includes(status.pid)) startedPids.push(status.pid);
  };

  const applied = new AppliedState(MAIL_STATE_SHAPE);
  const requests = stateRequestLine(() => applied.forget());
  const applyStep = (step: StateStep<MailState>) => {
    pushes.push(step.state);
    return mail.apply(step.state);
  };

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'fleet-mail-reload-'));
    // Dovecot runs as fleetvmail and reaches Maildirs by absolute path through here.
    chmodSync(workDir, 0o711);
    mail = new MailDriver({ layout: new NodeLayout(join(workDir, 'node')), address: ADDRESS, log: () => undefined });
    await mail.start();
    await remember();
    pusher = new MailStatePusher(
      {
        mailAccounts: async () => accounts.map((row) => ({ ...row })),
        mailboxes: async (ids) => mailboxes.filter((row) => ids.includes(row.accountId)),
        forwarders: async () => [],
        pipeForwarders: async () => [],
      },
      { nodeOf: async () => node },
      { list: async () => [node] },
      // The agent's half: it keeps the state it holds and takes a change against it, or a whole state.
      {
        putState: (_node, state) => requests(() => applied.whole(state), applyStep),
        changeState: (_node, change) => requests(() => applied.change(change, 'mail state'), applyStep),
      },
    );
    accounts.push(ANN);
    await create('info');
  });

  after(async () => {
    for (const pid of startedPids) if (isAlive(pid)) process.kill(pid, 'SIGCONT');
    await mail?.stop().catch(() => undefined);
    for (const pid of startedPids) await killInstance(pid);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  /** The account ann.test belongs to; each change adds a mailbox to it, as `mail mailbox add` does. */
  const ANN = { accountId: 1, username: 'ann', domain: 'ann.test', suspended: false, nodeId: node.id };
  const addressOf = (name: string) => `${name}@ann.test`;

  /** As the mail service does: the mailbox row first, then the node's push. */
  const create = async (name: string): Promise<void> => {
    mailboxes.push({ accountId: ANN.accountId, address: addressOf(name), passwordHash: hashMailPassword(PASSWORD), quotaMb: 100 });
    await pusher.pushNode(node);
  };

  /** Every file the two daemons read, with its contents. */
  const configFiles = (): Map<string, string> => {
    const files = new Map<string, string>();
    for (const file of renderedPaths()) files.set(file, readFileSync(file, 'utf8'));
    // What Postfix reads is each table's .db: its dump must be the one before too.
    for (const map of postfixMaps()) files.set(`${map}.db`, execFileSync('postmap', ['-c', mail.postfix.paths.configDir, '-s', `hash:${map}`], { encoding: 'utf8' }).split('\n').sort().join('\n'));
    return files;
  };
  const postfixMaps = (): string[] => mail.postfix.lookupTables();
  const renderedPaths = (): string[] => {
    const d = mail.dovecot.paths;
    const p = mail.postfix.paths;
    const perDomain = [d.passdbDir, d.userdbDir].flatMap((dir) => (existsSync(dir) ? readdirSync(dir).filter((name) => !name.startsWith('.')).map((name) => join(dir, name)) : []));
    return [d.configFile, ...perDomain, d.proxyDomainsFile, p.mainCf, p.masterCf, ...postfixMaps()];
  };

  async function expectBatchFails(names: string[], reason: RegExp): Promise<void> {
    const filesBefore = configFiles();
    const appliedBefore = mail.appliedState();
    await expectOneFailedBatch(names, create, () => pushes.length, reason);
    assert.deepEqual(configFiles(), filesBefore, 'every configuration file is the one before the batch');
    assert.deepEqual(mail.appliedState(), appliedBefore, 'the state a restart renders is the one before the batch');
    // The mail service removes the rows of the changes that failed.
    for (const name of names) mailboxes.splice(mailboxes.findIndex((row) => row.address === addressOf(name)), 1);
  }

  const logsIn = (name: string) => imapLoginSucceeds({ host: ADDRESS, user: addressOf(name), pass: PASSWORD });
  /** Postfix's answer to RCPT: an address of one of its domains that is not in its mailbox table is refused (5xx). */
  const accepts = async (name: string): Promise<boolean> => {
    try {
      await sendMail(ADDRESS, { to: addressOf(name), subject: `to ${name}` });
      return true;
    } catch (error) {
      if (/User unknown in virtual mailbox table/.test(String(error))) return false;
      throw error;
    }
  };

  async function expectServesOnlyTheOld(refused: string[]): Promise<void> {
    assert.equal(await logsIn('info'), true, 'the previous mailbox still logs in');
    assert.equal(await accepts('info'), true, 'Postfix still takes mail for the previous mailbox');
    for (const name of refused) {
      assert.equal(await logsIn(name), false, `${addressOf(name)} does not log in`);
      assert.equal(await accepts(name), false, `Postfix refuses mail for ${addressOf(name)}`);
    }
  }

  it('fails the batch when Postfix is stopped after Dovecot took it, and puts Dovecot back too', async () => {
    const master = runningPid(mail.postfix.paths.pidFile)!;
    process.kill(master, 'SIGSTOP');
    try {
      await expectBatchFails(['stopped0', 'stopped1', 'stopped2'], /postfix did not reload: its master process \d+ is stopped/);
      assert.equal(await logsIn('stopped0'), false, 'Dovecot no longer knows the refused mailboxes');
    } finally {
      process.kill(master, 'SIGCONT');
    }
    await expectServesOnlyTheOld(['stopped0', 'stopped1', 'stopped2']);
    await create('bob');
    assert.equal(await logsIn('bob'), true);
    assert.equal(await accepts('bob'), true);
  });

  it('fails the batch when the Dovecot master is gone; started again, it serves the previous configuration', async () => {
    await killInstance(runningPid(mail.dovecot.paths.pidFile));
    await waitFor(() => runningPid(mail.dovecot.paths.pidFile) === undefined, 10_000, 'dovecot to be gone');
    await expectBatchFails(['gone0', 'gone1'], /dovecot did not reload: its master process is not running/);
    // What the watchdog does: it starts the mail instance again, from the last applied state.
    await mail.start();
    await remember();
    await expectServesOnlyTheOld(['gone0', 'gone1']);
    assert.equal(await logsIn('bob'), true);
    await create('cat');
    assert.equal(await logsIn('cat'), true);
  });
});
