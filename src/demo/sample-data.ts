/**
 * Sample data for the demo cluster, so a person has something to look at: one account whose mail
 * stays on the parent and one whose mail lives on the first mail child, each with a mailbox.
 * Created once; a second `demo up` leaves what exists alone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../core/files.ts';
import type { LocalCluster } from './local-cluster.ts';

export interface SampleLogin {
  account: string;
  domain: string;
  mailNode: string;
  mailbox: string;
  password: string;
}

const SAMPLE_ACCOUNTS = [
  { account: 'alice', domain: 'alice.example', mailNode: 'local', mailbox: 'info' },
  { account: 'bob', domain: 'bob.example', mailNode: 'mail1', mailbox: 'sales' },
] as const;

/** A password strong enough for the default policy, readable enough to type. */
function samplePassword(): string {
  return `Demo-${randomBytes(9).toString('base64url')}-${randomBytes(3).toString('hex')}`;
}

export async function seedSampleData(cluster: LocalCluster, token: string, log: (line: string) => void): Promise<SampleLogin[]> {
  const file = join(cluster.spec.dir, 'sample-logins.json');
  const logins: SampleLogin[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SampleLogin[]) : [];
  for (const sample of SAMPLE_ACCOUNTS) {
    const exists = await cluster.api(token, 'GET', `/api/accounts/${sample.account}`).then(
      () => true,
      () => false,
    );
    if (exists) continue;
    const password = samplePassword();
    log(`sample data: account ${sample.account} (${sample.domain}), mail on ${sample.mailNode}`);
    await cluster.api(token, 'POST', '/api/accounts', { username: sample.account, domain: sample.domain, password, mailNode: sample.mailNode });
    const mailbox = `${sample.mailbox}@${sample.domain}`;
    await cluster.api(token, 'POST', `/api/accounts/${sample.account}/mail/mailboxes`, { address: mailbox, password });
    const login = { account: sample.account, domain: sample.domain, mailNode: sample.mailNode, mailbox, password };
    logins.splice(0, logins.length, ...logins.filter((l) => l.account !== sample.account), login);
  }
  writeFileAtomic(file, JSON.stringify(logins, null, 2), 0o600);
  return logins;
}
