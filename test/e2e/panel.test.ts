/**
 * The web panel in a real browser (Debian's chromium through playwright-core) against a real local
 * cluster on ${TEST_NET}.41: the parent on .1, mail1 linked by token on .2, and mail2 on .3, which
 * the admin installs over SSH from the browser. Every check reads what a person would see on the
 * page, then confirms it through the API. Screenshots of every main page, desktop and 390 px,
 * land in test-output/screenshots/.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { callApi, useTestCluster } from './cluster-fixture.ts';
import { useBrowser } from './browser.ts';
import { ensureAdminKey, startChildSshd } from '../../src/demo/child-sshd.ts';
import { TEST_NET } from '../test-net.ts';
import { openStore } from '../../src/store/database.ts';

const BLOCK = `${TEST_NET}.41`;
const CAROL_PASSWORD = 'Vivid-Walrus-Harbor-92-Lantern';
const RITA_PASSWORD = 'Quiet-Otter-Maple-57-Compass';

async function logIn(page: Page, url: string, username: string, password: string): Promise<void> {
  // A fresh load: the token lives only in the page's memory, so this also ends any session.
  await page.goto(url);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
}

async function go(page: Page, hash: string): Promise<void> {
  // In-page navigation: a reload would forget the in-memory token.
  await page.evaluate((target) => (location.hash = target), hash);
}

/** Watches a list of steps on the page until `done` holds, noting every state a step showed. */
async function watchSteps(page: Page, selector: string, done: () => Promise<boolean>, timeoutMs: number): Promise<{ seen: Set<string>; snapshots: string[] }> {
  const seen = new Set<string>();
  const snapshots: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await page.$$eval(selector, (items) => items.map((item) => `${item.getAttribute('data-step')}=${item.getAttribute('data-state')}`));
    for (const state of states) seen.add(state);
    const snapshot = states.join('|');
    if (snapshot !== snapshots[snapshots.length - 1]) snapshots.push(snapshot);
    if (await done()) return { seen, snapshots };
    if (Date.now() > deadline) throw new Error(`steps did not finish in ${timeoutMs} ms; last: ${snapshot}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

describe('the web panel in a real browser', () => {
  const fixture = useTestCluster({ block: BLOCK, children: [{ alias: 'mail1', roles: ['mail'], link: 'token' }] });
  const browser = useBrowser();
  const admin = (method: string, path: string, body?: unknown) => callApi(fixture.info.url, method, path, body, fixture.info.token);

  test('the admin logs in and sees the dashboard; first paint is measured', { timeout: 120_000 }, async () => {
    const page = browser.page;
    await page.goto(fixture.info.url);
    // Paint entries can arrive after the load event on a busy machine: wait for one a little.
    const paintOf = (type: 'paint' | 'element', name: string): Promise<number | null> =>
      page.evaluate(
        ([type, name]) =>
          new Promise<number | null>((resolve) => {
            new PerformanceObserver((list) => {
              // An element entry (Element Timing) is named by its elementtiming attribute and painted at renderTime.
              const entry = list.getEntries().find((e) => (type === 'paint' ? e.name : (e as PerformanceEntry & { identifier: string }).identifier) === name) as (PerformanceEntry & { renderTime?: number }) | undefined;
              if (entry) resolve(entry.renderTime || entry.startTime);
            }).observe({ type, buffered: true });
            setTimeout(() => resolve(null), 5000);
          }),
        [type, name] as const,
      );
    const coldPaint = await paintOf('paint', 'first-contentful-paint');
    // The first page of a fresh browser also pays for starting its renderer; a second load is what a returning person sees.
    await page.reload();
    const loginPaint = await paintOf('paint', 'first-contentful-paint');
    await browser.screenshot('login');
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(fixture.info.password);
    // Marked by the page as the form is submitted, not when the test asks for the click.
    await page.evaluate(() => document.addEventListener('submit', () => performance.mark('login-submitted'), { capture: true, once: true }));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#dash-nodes table').waitFor();
    const submitted = await page.evaluate(() => performance.getEntriesByName('login-submitted')[0]!.startTime);
    const dashboardPaint = await paintOf('element', 'dashboard');
    // Where the time went: each API call after the submit, by when it started and how long it took.
    const calls = await page.evaluate(
      (since) =>
        performance
          .getEntriesByType('resource')
          .filter((r) => r.startTime >= since && r.name.includes('/api/'))
          .map((r) => `${new URL(r.name).pathname} +${(r.startTime - since).toFixed(0)} ms for ${r.duration.toFixed(0)} ms`),
      submitted,
    );
    const ms = (value: number | null): string => (value === null ? 'not reported' : `${value.toFixed(0)} ms`);
    console.log(`first paint: login page ${ms(loginPaint)} after navigation (first-contentful-paint; ${ms(coldPaint)} in the fresh browser); dashboard with its data ${ms(dashboardPaint === null ? null : dashboardPaint - submitted)} after the login was submitted (element timing); calls: ${calls.join(', ')}`);
    const rows = await page.locator('#dash-nodes tbody tr').allTextContents();
    assert.equal(rows.length, 2, 'the parent and mail1');
    assert.ok(rows.some((row) => row.includes('mail1') && row.includes('ready')), rows.join(' / '));
    await browser.screenshot('admin-dashboard');
  });

  test('the admin installs a node over SSH and watches its steps arrive live', { timeout: 600_000 }, async () => {
    const page = browser.page;
    const address = `${BLOCK}.3`;
    const key = await ensureAdminKey(fixture.dir);
    await startChildSshd(fixture.dir, 'mail2', address, join(fixture.dir, 'pids', 'sshd-mail2.pid'), join(fixture.dir, 'logs', 'sshd-mail2.log'));
    await go(page, '#/nodes');
    const form = page.getByRole('form', { name: 'Install a node over SSH' });
    await form.getByLabel('Alias').fill('mail2');
    await form.getByLabel('SSH host').fill(address);
    await form.getByLabel('Private key (OpenSSH or PEM)').fill(key.privateKey);
    await form.getByText('Where the agent goes').click();
    await form.getByLabel('State folder').fill(fixture.cluster.nodeRoot('mail2'));
    await form.getByLabel('Program folder').fill(fixture.cluster.installDir('mail2'));
    await browser.screenshot('admin-nodes');
    await form.getByRole('button', { name: 'Install node' }).click();
    await page.getByRole('heading', { name: 'Node mail2' }).waitFor();
    const loads = await page.evaluate(() => performance.getEntriesByType('navigation').length);

    const status = page.locator('#node-status [data-node-status]');
    const { seen, snapshots } = await watchSteps(page, '#install-steps li.step', async () => (await status.getAttribute('data-node-status')) === 'ready', 540_000);
    const finalSteps = await page.$$eval('#install-steps li.step', (items) => items.map((item) => [item.getAttribute('data-step'), item.getAttribute('data-state')]));
    assert.equal(finalSteps.length, 8, `eight installation steps: ${JSON.stringify(finalSteps)}`);
    assert.ok(finalSteps.every(([, state]) => state === 'done'), JSON.stringify(finalSteps));
    assert.ok([...seen].some((entry) => entry.endsWith('=running')), `a step was seen running: ${[...seen].join(', ')}`);
    assert.ok(snapshots.length >= 4, `the steps changed on the page while it stayed open: ${snapshots.length} distinct views`);
    assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), loads, 'no reload');
    const node = await admin('GET', '/api/nodes/mail2');
    assert.equal((node.body as { status?: string }).status, 'ready');
    await browser.screenshot('admin-node-installed');
  });

  test('a bad domain in the create form shows the API message under the field and changes nothing', { timeout: 60_000 }, async () => {
    const page = browser.page;
    const before = await admin('GET', '/api/accounts');
    await go(page, '#/accounts');
    const form = page.getByRole('form', { name: 'Create an account' });
    await form.getByLabel('User name').fill('baddomain');
    await form.getByLabel('Domain').fill('bad_domain..example');
    await form.getByLabel('Password').fill(CAROL_PASSWORD);
    await form.getByRole('button', { name: 'Create account' }).click();
    const shown = form.locator('.field-error[data-field="domain"]');
    await shown.waitFor();
    const direct = await admin('POST', '/api/accounts', { username: 'baddomain', domain: 'bad_domain..example', password: CAROL_PASSWORD });
    assert.equal(direct.status, 400);
    assert.equal(await shown.textContent(), direct.body.message, 'the very message the API gives, under the domain field');
    assert.equal(await form.getByLabel('Domain').getAttribute('aria-invalid'), 'true');
    assert.deepEqual(await admin('GET', '/api/accounts'), before, 'the store is unchanged');
    await browser.screenshot('admin-accounts-refused');
  });

  test('the admin creates an account, moves its mail to a child and back, watching each job', { timeout: 600_000 }, async () => {
    const page = browser.page;
    await go(page, '#/accounts');
    const form = page.getByRole('form', { name: 'Create an account' });
    await form.getByLabel('User name').fill('carol');
    await form.getByLabel('Domain').fill('carol.example');
    await form.getByLabel('Password').fill(CAROL_PASSWORD);
    await form.locator('.meter-text[data-acceptable="true"]').waitFor();
    await form.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Account carol' }).waitFor();
    await browser.screenshot('admin-account');

    for (const [target, button, expected] of [
      ['mail1', 'Move mail', 'mail1'],
      ['local', 'Move mail back', 'the parent'],
    ] as const) {
      const move = page.locator('#move-mail');
      if (target !== 'local') await move.getByLabel('Move to').selectOption(target);
      const previous = await move.locator('.job-live a').textContent().catch(() => null);
      await move.getByRole('button', { name: button, exact: true }).click();
      const { seen } = await watchSteps(page, '#move-mail li.step', async () => {
        const link = await move.locator('.job-live a').textContent().catch(() => null);
        const state = await move.locator('.job-live').getAttribute('data-job-state').catch(() => null);
        return link !== null && link !== previous && ['succeeded', 'rolled_back', 'failed', 'held'].includes(state ?? '');
      }, 300_000);
      assert.equal(await move.locator('.job-live').getAttribute('data-job-state'), 'succeeded', `the move to ${target} succeeded; steps seen: ${[...seen].join(', ')}`);
      assert.ok([...seen].some((entry) => entry.endsWith('=done')), 'steps were shown as they finished');
      await page.locator('[data-mail-node]').filter({ hasText: expected }).waitFor();
      const account = await admin('GET', '/api/accounts/carol');
      assert.equal((account.body as { mailNode?: string | null }).mailNode, target === 'local' ? null : target);
      await browser.screenshot(`admin-move-${target}`);
    }
    const jobs = await admin('GET', '/api/jobs?key=account%3Acarol');
    const jobList = (jobs.body as { jobs?: { id: number }[] }).jobs ?? [];
    if (jobList[0]) {
      await go(page, `#/jobs/${jobList[0].id}`);
      await page.locator('#job-steps li.step').first().waitFor();
      await browser.screenshot('admin-job');
    }
  });

  test('every other admin page renders', { timeout: 120_000 }, async () => {
    const page = browser.page;
    for (const [hash, heading, name] of [
      ['#/plans', 'Plans', 'admin-plans'],
      ['#/resellers', 'Resellers', 'admin-resellers'],
      ['#/policies', 'Password policies', 'admin-policies'],
      ['#/sysdata', 'System data', 'admin-sysdata'],
      ['#/jobs', 'Jobs', 'admin-jobs'],
      ['#/nodes/mail1', 'Node mail1', 'admin-node'],
      ['#/', 'Dashboard', 'admin-dashboard-after'],
    ] as const) {
      await go(page, hash);
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      await page.locator('.loading').waitFor({ state: 'detached' });
      await browser.screenshot(name);
    }
  });

  test("the account's user adds a mailbox, a forwarder and a TXT record, and reads the webmail link", { timeout: 120_000 }, async () => {
    const page = browser.page;
    await logIn(page, fixture.info.url, 'carol', CAROL_PASSWORD);
    const webmail = page.locator('#webmail-link');
    await webmail.waitFor();
    assert.equal(await webmail.getAttribute('href'), 'http://webmail.carol.example/');
    assert.match((await page.locator('[data-mail-home]').textContent()) ?? '', /the parent's own node/);
    await browser.screenshot('user-overview');

    await page.getByRole('link', { name: 'Mailboxes' }).click();
    const add = page.getByRole('form', { name: 'Add a mailbox' });
    await add.getByLabel(/^Address/).fill('info');
    await add.getByLabel('Password').fill('password');
    await add.locator('.meter-text[data-acceptable="false"]').waitFor();
    await add.getByLabel('Password').fill(CAROL_PASSWORD + '-Info');
    await add.locator('.meter-text[data-acceptable="true"]').waitFor();
    await add.getByRole('button', { name: 'Add mailbox' }).click();
    await page.locator('#mailboxes tbody tr', { hasText: 'info@carol.example' }).waitFor();
    await browser.screenshot('user-mailboxes');

    await page.getByRole('link', { name: 'Forwarders' }).click();
    const forward = page.getByRole('form', { name: 'Add a forwarder' });
    await forward.getByLabel(/^From/).fill('sales');
    await forward.getByLabel(/^To/).fill('info@carol.example');
    await forward.getByRole('button', { name: 'Add forwarder' }).click();
    await page.locator('#forwarders tbody tr', { hasText: 'sales@carol.example' }).waitFor();
    await browser.screenshot('user-forwarders');

    await page.getByRole('link', { name: 'DNS' }).click();
    const record = page.getByRole('form', { name: 'Add a DNS record' });
    await record.getByLabel(/^Name/).fill('_dmarc');
    await record.getByLabel('Type').selectOption('TXT');
    await record.getByLabel('Content').fill('v=DMARC1; p=none');
    await record.getByRole('button', { name: 'Add record' }).click();
    await page.locator('#dns tbody tr', { hasText: 'v=DMARC1; p=none' }).waitFor();
    await browser.screenshot('user-dns');

    const mailboxes = await admin('GET', '/api/accounts/carol/mail/mailboxes');
    assert.ok(JSON.stringify(mailboxes.body).includes('info@carol.example'));
    const forwarders = await admin('GET', '/api/accounts/carol/mail/forwarders');
    assert.ok(JSON.stringify(forwarders.body).includes('sales@carol.example'));
    const zone = await admin('GET', '/api/accounts/carol/dns/records');
    assert.ok((zone.body as { records?: { name: string; type: string; content: string; id: number | null }[] }).records?.some((r) => r.type === 'TXT' && r.content.includes('v=DMARC1') && r.id !== null));
  });

  test('logging out revokes the token at the parent, and an expired session returns the page to the login', { timeout: 120_000 }, async () => {
    const page = browser.page;
    // The token lives only in the page's memory: read it off a call the page makes.
    const sent = page.waitForRequest((request) => request.url().includes('/api/') && request.headers()['authorization'] !== undefined);
    await logIn(page, fixture.info.url, 'carol', CAROL_PASSWORD);
    const token = (await sent).headers()['authorization']!.slice('Bearer '.length);
    assert.equal((await callApi(fixture.info.url, 'GET', '/api/me', undefined, token)).status, 200);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    assert.equal(await page.locator('.login .notice').textContent(), 'You logged out.');
    const after = await callApi(fixture.info.url, 'GET', '/api/me', undefined, token);
    assert.equal(after.status, 401, 'the parent refuses the token once the page logged out');
    assert.match(after.body.message ?? '', /revoked/);

    // A session past its expiry: the parent refuses the token, and the page goes back to the login saying why.
    await logIn(page, fixture.info.url, 'carol', CAROL_PASSWORD);
    await page.locator('#webmail-link').waitFor();
    const store = await openStore(join(fixture.dir, 'parent', 'fleetpanel.sqlite'));
    try {
      await store.db.updateTable('api_tokens').set({ expires_at: Date.now() - 1000 }).where('username', '=', 'carol').execute();
    } finally {
      await store.close();
    }
    await page.getByRole('link', { name: 'Mailboxes' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    assert.equal(await page.locator('.login .notice').textContent(), 'Your session ended at the parent: the token has expired; log in again.');
    assert.equal(await page.getByRole('button', { name: 'Log out' }).count(), 0);
    await browser.screenshot('login-session-expired');
  });

  test("a reseller sees only its accounts and gets a 403 page for another's", { timeout: 120_000 }, async () => {
    const page = browser.page;
    assert.equal((await admin('POST', '/api/accounts', { username: 'rita', domain: 'rita.example', password: RITA_PASSWORD })).status, 201);
    assert.equal((await admin('PUT', '/api/resellers/rita', { maxAccounts: 5 })).status, 200);
    assert.equal((await admin('POST', '/api/accounts', { username: 'ritacust', domain: 'ritacust.example', password: RITA_PASSWORD, owner: 'rita' })).status, 201);
    await logIn(page, fixture.info.url, 'rita', RITA_PASSWORD);
    await page.getByRole('heading', { name: 'My accounts' }).waitFor();
    // The heading paints before the limits and the list arrive; they come in one response.
    await page.locator('[data-reseller-usage]').waitFor();
    // A reseller's list holds its own account and its customers' (as GET /api/accounts answers it).
    const listed = await page.locator('main table tbody tr td:first-child').allTextContents();
    assert.deepEqual(listed.sort(), ['rita', 'ritacust']);
    assert.equal(await page.locator('[data-reseller-usage]').textContent(), '1/5');
    assert.deepEqual(await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents(), ['My accounts']);
    await browser.screenshot('reseller-home');

    await go(page, '#/accounts/carol');
    await page.getByRole('heading', { name: '403 — not allowed' }).waitFor();
    assert.match((await page.locator('[data-status="403"]').textContent()) ?? '', /not yours/);
    await browser.screenshot('reseller-forbidden');
    await go(page, '#/accounts/ritacust');
    await page.getByRole('heading', { name: 'Account ritacust' }).waitFor();
  });

  test('the event streams answer only a bearer token, and a settled job streams itself once and ends', { timeout: 60_000 }, async () => {
    const jobs = (await admin('GET', '/api/jobs?key=account%3Acarol')).body as { jobs?: { id: number; state: string }[] };
    const job = jobs.jobs?.find((j) => j.state === 'succeeded');
    assert.ok(job, 'a finished move of carol');
    for (const path of [`/api/jobs/${job.id}/stream`, '/api/nodes/mail1/stream']) {
      assert.equal((await fetch(`${fixture.info.url}${path}`)).status, 401, path);
    }
    const response = await fetch(`${fixture.info.url}/api/jobs/${job.id}/stream`, { headers: { authorization: `Bearer ${fixture.info.token}` } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const text = await response.text();
    const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(events, ['job', 'end']);
    const detail = JSON.parse(/^event: job\ndata: (.*)$/m.exec(text)![1]!) as { id: number; state: string; steps: unknown[] };
    assert.equal(detail.id, job.id);
    assert.equal(detail.state, 'succeeded');
    assert.ok(detail.steps.length > 0);
  });
});
