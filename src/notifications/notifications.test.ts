import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertKey, decide, emailText, message } from './alert.ts';
import { sign, verify } from './signature.ts';

test('a problem is notified once while open, and its recovery once', () => {
  const problem = { subject: 'pdns failed on mail1', detail: 'gave up' };
  let open = false;
  const sent: string[] = [];
  for (const seen of [problem, problem, problem, null, null, problem, null]) {
    const decision = decide(open, seen);
    if (decision) sent.push(decision);
    if (decision === 'notify') open = true;
    if (decision === 'recover') open = false;
  }
  assert.deepEqual(sent, ['notify', 'recover', 'notify', 'recover']);
  assert.equal(decide(false, null), null);
});

test('keys and messages name what they are about', () => {
  assert.equal(alertKey('service_failed', 'mail1', 'pdns'), 'service_failed:mail1:pdns');
  const at = new Date('2026-01-02T03:04:05Z');
  const recovered = message('service_failed', 'k', 'recovered', 'pdns failed on mail1', 'running again', { node: 'mail1' }, at);
  assert.equal(recovered.subject, 'RECOVERED: pdns failed on mail1');
  assert.equal(recovered.at, '2026-01-02T03:04:05.000Z');
  const mail = emailText(recovered, 'panel1');
  assert.equal(mail.subject, '[fleetpanel panel1] RECOVERED: pdns failed on mail1');
  assert.match(mail.text, /node: mail1/);
});

test('the webhook signature is HMAC-SHA256 of timestamp and body; a changed body, secret or old timestamp fails', () => {
  const body = JSON.stringify({ event: 'node_offline' });
  const signature = sign('s3cret-s3cret-s3cret', 1_700_000_000, body);
  // Known answer (from `openssl dgst -sha256 -hmac`), so a receiver written in another language can check itself against it.
  assert.equal(signature, 'sha256=94309eb6294247cd2f8d93fecb6dca20f39bda6028d687fab451380951f891f3');
  assert.equal(verify('s3cret-s3cret-s3cret', 1_700_000_000, body, signature, 1_700_000_010), true);
  assert.equal(verify('s3cret-s3cret-s3cret', 1_700_000_000, `${body} `, signature, 1_700_000_010), false);
  assert.equal(verify('other-secret-value', 1_700_000_000, body, signature, 1_700_000_010), false);
  assert.equal(verify('s3cret-s3cret-s3cret', 1_700_000_000, body, signature, 1_700_001_000), false);
});
