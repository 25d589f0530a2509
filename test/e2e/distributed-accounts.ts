/**
 * Accounts whose mail lives on a mail child, each with one mailbox that a first message reached
 * through the parent: the starting point of the re-parent tests.
 */
import assert from 'node:assert/strict';
import { callApi, type TestCluster } from './cluster-fixture.ts';
import { sendMail } from '../mail/mail-clients.ts';

export interface MailboxAccount {
  username: string;
  domain: string;
  /** the account's one mailbox */
  address: string;
}

export async function createDistributedAccounts(
  pair: TestCluster,
  where: { parentAlias: string; mailNode: string },
  accounts: readonly MailboxAccount[],
  passwords: { account: string; mailbox: string },
): Promise<void> {
  for (const a of accounts) {
    const created = await callApi(pair.info.url, 'POST', '/api/accounts', { username: a.username, domain: a.domain, password: passwords.account, mailNode: where.mailNode }, pair.info.token);
    assert.equal(created.status, 201, created.body.message);
    const mailbox = await callApi(pair.info.url, 'POST', `/api/accounts/${a.username}/mail/mailboxes`, { address: a.address, password: passwords.mailbox }, pair.info.token);
    assert.equal(mailbox.status, 201, mailbox.body.message);
    await sendMail(pair.address(where.parentAlias), { to: a.address, subject: `${a.username}-first` });
  }
}
