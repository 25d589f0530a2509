/**
 * Account transfers between two real parent/child pairs (issue 12): the first pair's parent on
 * 127.<net>.46.1 with the mail child mail1 on .2, the second pair's parent on 127.<net>.47.1 with
 * its mail child mail9 on 127.<net>.47.2. Every refusal is checked to have changed nothing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useTestCluster, callApi, type ApiResult } from './cluster-fixture.ts';
import { imapSubjects, sendMail } from '../mail/mail-clients.ts';
import { hashMailPassword } from '../../src/mail/mail-password.ts';
import { AuthService } from '../../src/auth/auth.service.ts';
import type { TransferBundle } from '../../src/transfers/transfer.schemas.ts';
import { TEST_NET } from '../test-net.ts';

const BLOCK = `${TEST_NET}.46`;
const SECOND_BLOCK = `${TEST_NET}.47`;
const SECOND_PARENT = `${SECOND_BLOCK}.1`;
const PASSWORD = 'violet-tugboat-marmalade-91';
const MAIL_PASSWORD = 'copper-lantern-orchard-57';


const fixture = useTestCluster({
  block: BLOCK,
  children: [{ alias: 'mail1', roles: ['mail'], link: 'token' }],
  second: { block: SECOND_BLOCK, children: [{ alias: 'mail9', roles: ['mail'], link: 'token' }] },
});

function target<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token = fixture.second.info.token): Promise<ApiResult<T>> {
  return callApi<T>(fixture.second.info.url, method, path, body, token);
}

async function bundle(username: string, domain: string, extra: Partial<TransferBundle> = {}): Promise<TransferBundle> {
  return {
    version: 1,
    source: 'parent',
    account: { username, domain, passwordHash: await AuthService.hashPassword(PASSWORD), ipv6: false, suspended: false, owner: 'admin', reseller: null },
    plan: { name: 'moved', diskMb: 2048, mailboxes: 20, domains: 2 },
    mailboxes: [{ address: `info@${domain}`, passwordHash: hashMailPassword(MAIL_PASSWORD), quotaMb: 0 }],
    forwarders: [{ source: `sales@${domain}`, destinations: [`info@${domain}`] }],
    pipeForwarders: [],
    dnsRecords: [{ name: `txt.${domain}`, type: 'TXT', ttl: 300, content: 'moved here' }],
    ...extra,
  };
}

async function accountsOnTarget(): Promise<string[]> {
  return (await target<{ accounts: { username: string }[] }>('GET', '/api/accounts')).body.accounts.map((a) => a.username).sort();
}

describe('two pairs', () => {
  test('each parent has its own nodes, store and admin token', async () => {
    const first = await callApi<{ nodes: { alias: string; host: string; status: string }[] }>(fixture.info.url, 'GET', '/api/nodes', undefined, fixture.info.token);
    const second = await target<{ nodes: { alias: string; host: string; status: string }[] }>('GET', '/api/nodes');
    assert.deepEqual(first.body.nodes.map((n) => [n.alias, n.host, n.status]).sort(), [['mail1', `${BLOCK}.2`, 'ready'], ['parent', `${BLOCK}.1`, 'ready']]);
    assert.deepEqual(second.body.nodes.map((n) => [n.alias, n.host, n.status]).sort(), [['mail9', `${SECOND_BLOCK}.2`, 'ready'], ['parent2', `${SECOND_BLOCK}.1`, 'ready']]);
    const crossed = await target('GET', '/api/nodes', undefined, fixture.info.token);
    assert.equal(crossed.status, 401);
  });
});

describe('import API of the target parent', () => {
  test('an imported account holds its mail until the import is finished, then delivers it; abort is only for imports under way', async () => {
    const imported = await target<{ mailNode: string; owner: string; plan: string }>('POST', '/api/transfers/imports', await bundle('imported', 'imported.test', { mailNode: 'mail9' }));
    assert.equal(imported.status, 201, imported.body.message);
    assert.deepEqual([imported.body.mailNode, imported.body.owner, imported.body.plan], ['mail9', 'admin', 'moved']);
    const records = await target<{ records: { name: string; type: string; content: string }[] }>('GET', '/api/accounts/imported/dns/records');
    assert.ok(records.body.records.some((r) => r.name === 'txt.imported.test' && r.type === 'TXT'), JSON.stringify(records.body));

    await sendMail(SECOND_PARENT, { to: 'sales@imported.test', subject: 'held-1' });
    // Held, not delivered: the source's copy would race it.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.deepEqual(await imapSubjects({ host: SECOND_PARENT, user: 'info@imported.test', pass: MAIL_PASSWORD }), []);
    const finished = await target('POST', '/api/transfers/imports/imported/finish');
    assert.equal(finished.status, 200, finished.body.message);
    const deadline = Date.now() + 30_000;
    let subjects: string[] = [];
    while (Date.now() < deadline && !subjects.includes('held-1')) {
      subjects = await imapSubjects({ host: SECOND_PARENT, user: 'info@imported.test', pass: MAIL_PASSWORD }).catch(() => []);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.deepEqual(subjects, ['held-1']);
    const abort = await target('DELETE', '/api/transfers/imports/imported');
    assert.equal(abort.status, 409, 'a finished import is an ordinary account');

    const second = await target('POST', '/api/transfers/imports', await bundle('dropped', 'dropped.test'));
    assert.equal(second.status, 201, second.body.message);
    const dropped = await target<{ removed: boolean }>('DELETE', '/api/transfers/imports/dropped');
    assert.equal(dropped.status, 200, dropped.body.message);
    assert.deepEqual(await accountsOnTarget(), ['imported']);
  });

  test('refusals change nothing: username or domain taken, a token without admin rights, a bad bundle', async () => {
    const before = await accountsOnTarget();
    const taken = await target('POST', '/api/transfers/imports', await bundle('imported', 'other.test'));
    assert.equal(taken.status, 409);
    assert.match(taken.body.message ?? '', /already has an account or login named 'imported'/);
    const domain = await target('POST', '/api/transfers/imports', await bundle('other', 'imported.test'));
    assert.equal(domain.status, 409);
    assert.match(domain.body.message ?? '', /already has the domain 'imported.test'/);
    const check = await target('GET', '/api/transfers/check?username=other&domain=imported.test');
    assert.equal(check.status, 409);

    const session = await target<{ token: string }>('POST', '/api/session', { username: 'imported', password: PASSWORD }, '');
    assert.equal(session.status, 201, session.body.message);
    const notAdmin = await target('POST', '/api/transfers/imports', await bundle('other', 'other.test'), session.body.token);
    assert.equal(notAdmin.status, 403);
    assert.match(notAdmin.body.message ?? '', /admin token/);

    const outside = await target('POST', '/api/transfers/imports', await bundle('other', 'other.test', { mailboxes: [{ address: 'info@elsewhere.test', passwordHash: hashMailPassword(MAIL_PASSWORD), quotaMb: 0 }] }));
    assert.equal(outside.status, 400);
    assert.equal(outside.body.field, 'mailboxes[0].address');
    const noNode = await target('POST', '/api/transfers/imports', await bundle('other', 'other.test', { mailNode: 'mail1' }));
    assert.equal(noNode.status, 400);
    assert.equal(noNode.body.field, 'mailNode');
    assert.deepEqual(await accountsOnTarget(), before);
    const plans = await target<{ plans: { name: string }[] }>('GET', '/api/plans');
    assert.ok(plans.body.plans.some((p) => p.name === 'moved'));
  });
});

