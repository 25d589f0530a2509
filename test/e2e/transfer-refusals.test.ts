/**
 * Refusals of `account transfer` between two real pairs (issue 12): the source parent on
 * 127.<net>.146.1 with the mail child mail1 on .2, the target parent on 127.<net>.147.1 with the
 * mail child mail8 on .2, which the test hands over to the source parent behind the target's back.
 * Each refusal runs through the CLI (one line, the exit code of its kind) and is checked to have
 * changed nothing on either pair. Apart from test/e2e/transfers.test.ts so each file stays within
 * the suite's time per file.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTestCluster, callApi, type ApiResult } from './cluster-fixture.ts';
import { callAgentAs, parentClientCertificate } from './agent-call.ts';
import type { JobView } from '../../src/jobs/index.ts';
import type { NodeView } from '../../src/nodes/node.model.ts';
import { TEST_NET } from '../test-net.ts';

const BLOCK = `${TEST_NET}.146`;
const SECOND_BLOCK = `${TEST_NET}.147`;
const SECOND_PARENT = `${SECOND_BLOCK}.1`;
const PASSWORD = 'violet-tugboat-marmalade-91';
const MAIL_PASSWORD = 'copper-lantern-orchard-57';

const pointFile = join(process.env.TMPDIR ?? '/tmp', `fleetpanel-transfer-refusal-point-${process.pid}`);
process.env.FLEETPANEL_TEST_POINT_FILE = pointFile;

const fixture = useTestCluster({
  block: BLOCK,
  children: [{ alias: 'mail1', roles: ['mail'], link: 'token' }],
  second: { block: SECOND_BLOCK, children: [{ alias: 'mail8', roles: ['mail'], link: 'token' }] },
});

function target<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token = fixture.second.info.token): Promise<ApiResult<T>> {
  return callApi<T>(fixture.second.info.url, method, path, body, token);
}

function source<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token = fixture.info.token): Promise<ApiResult<T>> {
  return callApi<T>(fixture.info.url, method, path, body, token);
}

async function accountsOnTarget(): Promise<string[]> {
  return (await target<{ accounts: { username: string }[] }>('GET', '/api/accounts')).body.accounts.map((a) => a.username).sort();
}

describe('transfer refusals', () => {
  test('refused with a one-line reason and the exit code of its kind, nothing changed on either side: a target child not its own or linked to another parent, an account with a job under way, a target not reachable, a token not valid there or not an admin\'s, the username or domain taken there', async () => {
    // The target's own account, whose name and domain the source's 'taken' and 'clash' ask for.
    const there = await target('POST', '/api/accounts', { username: 'taken', domain: 'taken.test', password: PASSWORD });
    assert.equal(there.status, 201, there.body.message);
    for (const [username, domain] of [['stays', 'stays.test'], ['taken', 'taken-here.test'], ['clash', 'taken.test']] as const) {
      const created = await source('POST', '/api/accounts', { username, domain, password: PASSWORD });
      assert.equal(created.status, 201, created.body.message);
    }
    const mailbox = await source('POST', '/api/accounts/stays/mail/mailboxes', { address: 'info@stays.test', password: MAIL_PASSWORD });
    assert.equal(mailbox.status, 201, mailbox.body.message);

    // mail8 takes the first pair's parent as its parent behind the target's back; the target still lists it.
    const identity = await source<{ parentId: string; name: string }>('GET', '/api/parent/identity');
    assert.equal(identity.status, 200, identity.body.message);
    const issued = await callAgentAs(fixture.second.address('mail8'), 'POST', '/v1/handover', { newParentId: identity.body.parentId, newParentName: identity.body.name, expiresInMinutes: 5 }, parentClientCertificate(join(fixture.dir, 'pair2', 'parent')));
    assert.equal(issued.status, 200, issued.body.message);
    const adopted = await source<NodeView>('POST', '/api/nodes/link', { alias: 'mail8', host: fixture.second.address('mail8'), token: issued.body.token, roles: ['mail'], adopt: true });
    assert.equal(adopted.status, 201, adopted.body.message);
    assert.ok((await target<{ nodes: { alias: string }[] }>('GET', '/api/nodes')).body.nodes.some((n) => n.alias === 'mail8'), 'the target still lists mail8');

    const session = await target<{ token: string }>('POST', '/api/session', { username: 'taken', password: PASSWORD }, '');
    assert.equal(session.status, 201, session.body.message);
    const targetAccounts = await accountsOnTarget();
    const unchanged = async (username: string): Promise<void> => {
      assert.deepEqual(await accountsOnTarget(), targetAccounts, 'the target has no account more or less');
      assert.equal((await source('GET', `/api/accounts/${username}`)).status, 200, `${username} is still here`);
      const jobs = await source<{ jobs: JobView[] }>('GET', `/api/jobs?key=account:${username}`);
      assert.deepEqual(jobs.body.jobs.filter((j) => j.type === 'account.transfer'), [], `no transfer job for ${username}`);
    };
    const refused = async (username: string, args: string[], token: string, code: number, reason: RegExp): Promise<void> => {
      const cli = await fixture.cli(['account', 'transfer', username, '--to', fixture.second.info.url, '--token-stdin', ...args], `${token}\n`);
      assert.equal(cli.code, code, `${args.join(' ')}: ${cli.stdout}\n${cli.stderr}`);
      const lines = cli.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line: ${cli.stderr}`);
      assert.match(lines[0]!, /^fleetpanel: /);
      assert.match(lines[0]!, reason);
      await unchanged(username);
    };
    const admin = fixture.second.info.token;

    await refused('stays', ['--mail-node', 'mail1'], admin, 2, /mailNode: parent 'parent2' has no node named 'mail1'/);
    await refused('stays', ['--mail-node', 'mail8'], admin, 6, /child 'mail8' is linked to another parent \('parent'\), not to 'parent2'/);
    await refused('stays', [], 'fp_not-a-token-of-that-parent', 2, /token: not valid at the target parent/);
    await refused('stays', [], session.body.token, 4, /need an admin token of the target parent; this one belongs to user 'taken'/);
    await refused('taken', [], admin, 6, /already has an account or login named 'taken'/);
    await refused('clash', [], admin, 6, /already has the domain 'taken.test' \(account 'taken'\)/);

    const closed = await fixture.cli(['account', 'transfer', 'stays', '--to', `http://${SECOND_PARENT}:9`, '--token-stdin'], `${admin}\n`);
    assert.equal(closed.code, 7, `${closed.stdout}\n${closed.stderr}`);
    assert.equal(closed.stderr.trim().split('\n').length, 1, closed.stderr);
    assert.match(closed.stderr, /^fleetpanel: the target parent http:\/\/[\d.]+:9 is not reachable: .*ECONNREFUSED/);
    await unchanged('stays');

    // A mail move of the account held at its first step: the transfer is refused while it runs.
    writeFileSync(pointFile, 'pause:distribute:plan');
    try {
      const move = await source<{ job: JobView }>('POST', '/api/accounts/stays/mail-node', { mailNode: 'mail1' });
      assert.equal(move.status, 202, move.body.message);
      const deadline = Date.now() + 60_000;
      while ((await source<JobView>('GET', `/api/jobs/${move.body.job.id}`)).body.currentStep !== 'plan') {
        if (Date.now() > deadline) assert.fail('the mail move did not reach its plan step');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await refused('stays', [], admin, 6, new RegExp(`account 'stays' has job ${move.body.job.id} \\(mail\\.distribute, running\\) under way`));
      rmSync(pointFile, { force: true });
      let state = '';
      while (Date.now() < deadline + 120_000 && !['succeeded', 'rolled_back', 'failed', 'held'].includes(state)) {
        state = (await source<JobView>('GET', `/api/jobs/${move.body.job.id}`)).body.state;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.equal(state, 'succeeded', 'the mail move finishes once let go');
    } finally {
      rmSync(pointFile, { force: true });
    }
    assert.equal((await source<{ mailNode: string | null }>('GET', '/api/accounts/stays')).body.mailNode, 'mail1');
  });
});
