/**
 * Account certificates on a real cluster with Debian's pebble as the ACME server: the parent on
 * <net>.45.1 (every role, pebble beside it asking the parent's PowerDNS for the DNS-01 answers)
 * and a mail child on .2. What the tests look at is what `openssl s_client` sees, trusting
 * pebble's root only through -CAfile.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { runCli, useTestCluster } from './cluster-fixture.ts';
import { run } from '../../src/core/exec.ts';
import { startPebble, stopPebble } from '../../src/demo/pebble.ts';
import { TEST_NET } from '../test-net.ts';

const BLOCK = `${TEST_NET}.45`;
const PARENT = `${BLOCK}.1`;
const CHILD = `${BLOCK}.2`;
const PASSWORD = 'saffron-kettle-harbour-38';
const NAMES = (domain: string): string[] => [domain, `www.${domain}`, `mail.${domain}`, `webmail.${domain}`, `autoconfig.${domain}`, `autodiscover.${domain}`];

// Renewal passes every second, so a new account is ordered at once; set before the cluster starts its parent.
process.env.FLEETPANEL_CERTIFICATE_TICK_MS = '1000';
process.env.FLEETPANEL_ACME_RETRY_BASE_MS = '2000';
// Ten-day certificates: renewal is due after six and a half days, and an expiry inside 14 days
// with a failing renewal is what `account show` and `node show` warn about.
const fixture = useTestCluster({ block: BLOCK, acme: true, acmeCertificateValiditySeconds: 10 * 86_400, children: [{ alias: 'mail1', roles: ['mail'], link: 'token' }] });

interface CertificateView {
  account: string;
  names: string[];
  kind: string;
  issuer: string;
  notAfter: string;
  lastError: string | null;
}

interface Served {
  certificate: X509Certificate;
  verified: boolean;
  output: string;
}

let rootFile: string;

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T & { message?: string } }> {
  const response = await fetch(`${fixture.info.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${fixture.info.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T & { message?: string } };
}

/** What a TLS client sees at host:port for the name (SNI), checked against pebble's root and the name. */
async function served(host: string, port: number, name: string, starttls?: 'imap' | 'smtp' | 'pop3'): Promise<Served> {
  const args = ['s_client', '-connect', `${host}:${port}`, '-servername', name, '-CAfile', rootFile, '-verify_hostname', name, ...(starttls ? ['-starttls', starttls] : [])];
  const { stdout } = await run('openssl', args, { input: '', timeoutMs: 15_000 }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout);
  assert.ok(pem, `no certificate from ${host}:${port} for ${name}: ${stdout.slice(0, 400)}`);
  return { certificate: new X509Certificate(pem[0]), verified: /Verify return code: 0 \(ok\)/.test(stdout), output: stdout };
}

async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function issued(username: string): Promise<CertificateView> {
  return pollUntil(`an issued certificate for ${username}`, async () => {
    const view = await api<CertificateView>('GET', `/api/accounts/${username}/ssl`);
    return view.body.kind === 'issued' ? view.body : undefined;
  });
}

/** Waits until the endpoint serves a certificate that verifies against pebble's root (and, if given, has this fingerprint). */
async function servesIssued(host: string, port: number, name: string, starttls?: 'imap' | 'smtp' | 'pop3', fingerprint?: string): Promise<Served> {
  return pollUntil(`${host}:${port} (${starttls ?? 'tls'}) to serve ${name} from pebble`, async () => {
    const seen = await served(host, port, name, starttls);
    return seen.verified && (fingerprint === undefined || seen.certificate.fingerprint256 === fingerprint) ? seen : undefined;
    // An order is several round trips to pebble and a DNS check; on a loaded machine one took over a minute.
  }, 180_000);
}

const sanNames = (certificate: X509Certificate): string[] =>
  (certificate.subjectAltName ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^DNS:/, ''))
    .sort();

describe('account certificates over ACME with DNS validation', () => {
  before(async () => {
    const pebble = await pollUntil('pebble root', async () => readFileSync(join(fixture.cluster.pebbleDir, 'listener.pem'), 'utf8'));
    assert.ok(pebble);
    const rootPem = await (await request(`https://${PARENT}:15000/roots/0`, { dispatcher: new Agent({ connect: { ca: pebble } }) })).body.text();
    rootFile = join(fixture.dir, 'pebble-root.pem');
    writeFileSync(rootFile, rootPem);
  });

  test('a new account gets a certificate from pebble for all its names, served by nginx, Dovecot and Postfix on the parent', async () => {
    const created = await api('POST', '/api/accounts', { username: 'certa', domain: 'cert-a.test', password: PASSWORD });
    assert.equal(created.status, 201, created.body.message);
    const view = await issued('certa');
    assert.deepEqual([...view.names].sort(), NAMES('cert-a.test').sort());
    assert.match(view.issuer, /^Pebble Intermediate CA/);

    const https = await servesIssued(PARENT, 443, 'cert-a.test');
    assert.deepEqual(sanNames(https.certificate), NAMES('cert-a.test').sort());
    assert.match(https.certificate.issuer, /Pebble Intermediate CA/);
    for (const name of ['www.cert-a.test', 'webmail.cert-a.test']) await servesIssued(PARENT, 443, name, undefined, https.certificate.fingerprint256);
    await servesIssued(PARENT, 143, 'mail.cert-a.test', 'imap', https.certificate.fingerprint256);
    await servesIssued(PARENT, 993, 'mail.cert-a.test', undefined, https.certificate.fingerprint256);
    await servesIssued(PARENT, 25, 'mail.cert-a.test', 'smtp', https.certificate.fingerprint256);

    const status = await fixture.cli(['ssl', 'status', 'certa']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /certa\s+issued\s+Pebble Intermediate CA/);
  });

  test("a distributed account's certificate is served by its mail child (IMAP and https webmail) and follows the mail back to the parent", async () => {
    const created = await api('POST', '/api/accounts', { username: 'certb', domain: 'cert-b.test', password: PASSWORD, mailNode: 'mail1' });
    assert.equal(created.status, 201, created.body.message);
    await issued('certb');
    const imap = await servesIssued(CHILD, 143, 'mail.cert-b.test', 'imap');
    assert.deepEqual(sanNames(imap.certificate), NAMES('cert-b.test').sort());
    const webmail = await servesIssued(CHILD, 443, 'webmail.cert-b.test', undefined, imap.certificate.fingerprint256);
    assert.ok(webmail.verified);
    // The certificate's nginx reload has just happened (Dovecot, checked above, reloads first): for
    // a moment after a reload nginx's old workers may still take a new connection, with the old
    // (self-signed) certificate, so the page is asked until a handshake verifies.
    const page = await pollUntil('the webmail page over verified HTTPS', async () => {
      const response = await request(`https://${CHILD}/`, { headers: { host: 'webmail.cert-b.test' }, dispatcher: new Agent({ connect: { ca: readFileSync(rootFile, 'utf8'), servername: 'webmail.cert-b.test' } }) });
      return { status: response.statusCode, body: await response.body.text() };
    });
    assert.equal(page.status, 200);
    assert.match(page.body, /Roundcube|rcmloginuser/i);

    const back = await fixture.cli(['account', 'modify', 'certb', '--mail-node', 'local', '--grace', '2s']);
    assert.equal(back.code, 0, back.stderr);
    await servesIssued(PARENT, 143, 'mail.cert-b.test', 'imap', imap.certificate.fingerprint256);
  });

  test('a renewal forced early replaces the certificate on every node while HTTPS requests keep succeeding', async () => {
    const before = await servesIssued(PARENT, 443, 'cert-a.test');
    const ca = readFileSync(rootFile, 'utf8');
    let requests = 0;
    const failures: string[] = [];
    let looping = true;
    const loop = (async () => {
      // A new connection each time, so every request makes a handshake against whatever serves now.
      while (looping && requests < 5000) {
        const dispatcher = new Agent({ connect: { ca, servername: 'cert-a.test' } });
        try {
          const response = await request(`https://${PARENT}/`, { headers: { host: 'cert-a.test' }, dispatcher });
          await response.body.text();
          if (response.statusCode >= 500) failures.push(`HTTP ${response.statusCode}`);
        } catch (error) {
          failures.push((error as Error).message);
        } finally {
          await dispatcher.close();
        }
        requests++;
      }
    })();
    const renewed = await fixture.cli(['ssl', 'renew', 'certa']);
    assert.equal(renewed.code, 0, renewed.stderr);
    for (const step of ['order', 'publish', 'propagate', 'validate', 'finalize', 'deploy', 'clean']) assert.match(renewed.stdout, new RegExp(`\\[${step}\\]|${step}`), step);
    const after = await pollUntil('the renewed certificate at the parent', async () => {
      const seen = await served(PARENT, 443, 'cert-a.test');
      return seen.verified && seen.certificate.fingerprint256 !== before.certificate.fingerprint256 ? seen : undefined;
    });
    await servesIssued(PARENT, 143, 'mail.cert-a.test', 'imap', after.certificate.fingerprint256);
    looping = false;
    await loop;
    assert.ok(requests > 0);
    assert.deepEqual(failures, [], `${failures.length} of ${requests} HTTPS requests failed during the renewal`);
  });

  test("a site's plain HTTP redirects to HTTPS when its owner turns the option on, and serves again when it is off", async () => {
    const plain = async (): Promise<{ status: number; location: string | undefined }> => {
      const response = await request(`http://${PARENT}/some/page?x=1`, { headers: { host: 'www.cert-a.test' } });
      await response.body.text();
      return { status: response.statusCode, location: response.headers.location as string | undefined };
    };
    assert.notEqual((await plain()).status, 301);
    const on = await fixture.cli(['ssl', 'redirect', 'certa', 'on']);
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /redirects to HTTPS/);
    assert.deepEqual(await plain(), { status: 301, location: 'https://www.cert-a.test/some/page?x=1' });
    // HTTPS still serves the site itself, with its issued certificate.
    const ca = readFileSync(rootFile, 'utf8');
    const secure = await request(`https://${PARENT}/`, { headers: { host: 'cert-a.test' }, dispatcher: new Agent({ connect: { ca, servername: 'cert-a.test' } }) });
    await secure.body.text();
    assert.notEqual(secure.statusCode, 301);
    assert.ok(secure.statusCode < 500, `HTTPS answered ${secure.statusCode}`);
    assert.equal(JSON.parse((await fixture.cli(['ssl', 'redirect', 'certa', '--json'])).stdout).httpsRedirect, true);

    const bad = await fixture.cli(['ssl', 'redirect', 'certa', 'maybe']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /state/);
    const refused = await api('PUT', '/api/accounts/certa/web', { httpsRedirect: 'yes' });
    assert.equal(refused.status, 400);
    assert.match(refused.body.message ?? '', /httpsRedirect/);

    const off = await fixture.cli(['ssl', 'redirect', 'certa', 'off']);
    assert.equal(off.code, 0, off.stderr);
    assert.notEqual((await plain()).status, 301);
  });

  test('bad input is refused naming the field, and no key ever appears in API output or the parent log', async () => {
    const outside = await fixture.cli(['ssl', 'renew', 'certa', '--name', 'shop.other.test']);
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /names\[0\].*outside the zone cert-a\.test/);
    const plain = await fixture.cli(['ssl', 'ca', 'set', 'http://ca.example/dir']);
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /directoryUrl/);
    const other = await api('POST', '/api/accounts/nosuch/ssl/renew', {});
    assert.equal(other.status, 404);

    const everything = JSON.stringify([
      (await api('GET', '/api/ssl/certificates')).body,
      (await api('GET', '/api/jobs?limit=100')).body,
      (await api('GET', '/api/accounts/certa/ssl')).body,
    ]);
    assert.ok(!everything.includes('PRIVATE KEY'));
    assert.ok(!readFileSync(join(fixture.dir, 'logs', 'parent.log'), 'utf8').includes('PRIVATE KEY'));
  });

  test('with pebble stopped a renewal leaves the certificate in place and the status names the error', async () => {
    const before = await servesIssued(PARENT, 443, 'cert-a.test');
    await stopPebble(fixture.cluster.pebbleDir);
    try {
      const queued = await fixture.cli(['ssl', 'renew', 'certa', '--no-wait']);
      assert.equal(queued.code, 0, queued.stderr);
      const failing = await pollUntil('the error in ssl status', async () => {
        const view = await api<CertificateView>('GET', '/api/accounts/certa/ssl');
        return view.body.lastError ? view.body : undefined;
      });
      assert.match(failing.lastError!, /ACME server .* cannot be reached/);
      assert.equal(failing.kind, 'issued');
      const still = await served(PARENT, 443, 'cert-a.test');
      assert.equal(still.certificate.fingerprint256, before.certificate.fingerprint256);
      assert.ok(still.verified);

      const status = await fixture.cli(['ssl', 'status', 'certa']);
      assert.match(status.stdout, /cannot be reached/);
      // Ten days left and the renewal failing: a warning in both views, for the node that serves it.
      const account = await fixture.cli(['account', 'show', 'certa']);
      assert.match(account.stdout, /WARNING: certificate expires in [0-9] day\(s\) and its renewal is failing/);
      const parentNode = await fixture.cli(['node', 'show', 'parent']);
      assert.equal(parentNode.code, 0, parentNode.stderr);
      assert.match(parentNode.stdout, /WARNING: cert-a\.test: certificate expires in [0-9] day\(s\) and its renewal is failing/);
      const child = JSON.parse((await fixture.cli(['node', 'show', 'mail1', '--json'])).stdout) as { certificateWarnings: string[] };
      assert.ok(!child.certificateWarnings.some((w) => w.startsWith('cert-a.test')), 'mail1 does not serve cert-a.test');
    } finally {
      // pebble comes back with a new root; nothing after this test depends on the old one.
      await startPebble(fixture.cluster.pebbleOptions());
    }
  });

  test('a pebble that rejects the order (its DNS-01 check fails) leaves the certificate in place and the status names the error', async () => {
    // The renewal the test before left failing is retried against the restarted pebble first.
    const renewed = await pollUntil('the earlier renewal retried', async () => {
      const view = await api<CertificateView>('GET', '/api/accounts/certa/ssl');
      return view.body.lastError === null ? view.body : undefined;
    }, 120_000);
    const before = await pollUntil('the renewed certificate in service', async () => {
      const seen = await served(PARENT, 443, 'cert-a.test');
      return Date.parse(seen.certificate.validTo) === Date.parse(renewed.notAfter) ? seen : undefined;
    });
    await stopPebble(fixture.cluster.pebbleDir);
    // The same pebble, but its validation asks a DNS address where nothing answers: it refuses every authorization.
    await startPebble({ ...fixture.cluster.pebbleOptions(), dnsServer: `${BLOCK}.9:53` });
    try {
      const queued = await fixture.cli(['ssl', 'renew', 'certa', '--no-wait']);
      assert.equal(queued.code, 0, queued.stderr);
      const failing = await pollUntil('the rejection in ssl status', async () => {
        const view = await api<CertificateView>('GET', '/api/accounts/certa/ssl');
        return view.body.lastError && !/cannot be reached/.test(view.body.lastError) ? view.body : undefined;
      }, 120_000);
      assert.match(failing.lastError!, /the ACME server refused \(validation\)/);
      assert.equal(failing.kind, 'issued');
      const still = await served(PARENT, 443, 'cert-a.test');
      assert.equal(still.certificate.fingerprint256, before.certificate.fingerprint256, 'the previous certificate still serves');
      const status = await fixture.cli(['ssl', 'status', 'certa']);
      assert.ok(status.stdout.includes(failing.lastError!.split('\n')[0]!), status.stdout);
    } finally {
      await stopPebble(fixture.cluster.pebbleDir);
      await startPebble(fixture.cluster.pebbleOptions());
    }
  });

  // Last: it restarts the parent with a host name, so the plain-HTTP API the tests above use now only redirects.
  test('the parent started with --hostname serves its API over HTTPS with a certificate from pebble, and plain HTTP only redirects', async () => {
    const HOST = 'panel.cert-a.test';
    // pebble was restarted by the test before, with a new root.
    writeFileSync(rootFile, await fixture.cluster.pebbleRoot());
    const ca = readFileSync(rootFile, 'utf8');
    await fixture.cluster.stopParent();
    fixture.cluster.startParent(['--hostname', HOST, '--https-port', '8443']);

    const https = await servesIssued(PARENT, 8443, HOST);
    assert.deepEqual(sanNames(https.certificate), [HOST]);
    assert.match(https.certificate.issuer, /Pebble Intermediate CA/);

    for (const [method, status] of [['GET', 301], ['POST', 308]] as const) {
      const plain = await request(`http://${PARENT}:8080/api/session?x=1`, { method, ...(method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}) });
      assert.equal(plain.statusCode, status, method);
      assert.equal(plain.headers.location, `https://${HOST}:8443/api/session?x=1`);
      assert.equal(await plain.body.text(), '');
    }

    const dispatcher = new Agent({ connect: { ca, servername: HOST } });
    const panel = await request(`https://${PARENT}:8443/api/ssl/panel`, { headers: { authorization: `Bearer ${fixture.info.token}` }, dispatcher });
    assert.equal(panel.statusCode, 200);
    const view = (await panel.body.json()) as { hostname: string; kind: string; issuer: string; zoneAccount: string; lastError: string | null };
    assert.equal(view.hostname, HOST);
    assert.equal(view.kind, 'issued');
    assert.match(view.issuer, /^Pebble Intermediate CA/);
    assert.equal(view.zoneAccount, 'certa');
    assert.ok(!JSON.stringify(view).includes('PRIVATE KEY'));
    // The serving chain (not the key) is in the data folder for clients of a self-signed panel.
    assert.equal(new X509Certificate(readFileSync(join(fixture.dir, 'parent', 'https', 'panel.pem'))).fingerprint256, https.certificate.fingerprint256);

    // The CLI verifies the parent's certificate: without the CA bundle pebble's chain is refused.
    const unverified = await runCli(`https://${PARENT}:8443`, fixture.info.token, ['node', 'list']);
    assert.notEqual(unverified.code, 0);
    assert.match(unverified.stderr, /certificate/i);
    // And it never sends the token over plain HTTP off loopback.
    const offLoopback = await runCli('http://panel.cert-a.test:8080', fixture.info.token, ['node', 'list']);
    assert.equal(offLoopback.code, 2);
    assert.match(offLoopback.stderr, /plain HTTP/);
  });
});

after(() => {
  delete process.env.FLEETPANEL_CERTIFICATE_TICK_MS;
  delete process.env.FLEETPANEL_ACME_RETRY_BASE_MS;
});
