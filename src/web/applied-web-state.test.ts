import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, ValidationError } from '../core/errors.ts';
import { AppliedWebState } from './applied-web-state.ts';
import { KnownState } from '../protocol/keyed-state.ts';
import { WEB_STATE_SHAPE, type WebStateChange, type WebStateRequest } from '../protocol/web-state.ts';

const whole: WebStateRequest = {
  sites: [
    { account: 'ann', domain: 'ann.test', suspended: false },
    { account: 'bob', domain: 'bob.test', suspended: false, httpsRedirect: true },
  ],
  proxies: [{ domain: 'webmail.cat.test', upstream: '127.0.0.9' }],
};
const none = () => ({ put: [], removed: [] });
const change = (base: string, parts: Partial<Omit<WebStateChange, 'base'>>): WebStateChange => ({ base, sites: none(), proxies: none(), ...parts });

test('the agent and the parent reach the same digest, whole and through changes', () => {
  const applied = new AppliedWebState();
  const digest = applied.whole(whole).done();
  const known = KnownState.acknowledged(WEB_STATE_SHAPE, whole, digest);
  assert.ok(known, 'the parent computes the digest the agent answered');
  const next: WebStateRequest = { sites: [{ account: 'ann', domain: 'ann.test', suspended: true }, { account: 'dan', domain: 'dan.test', suspended: false }], proxies: [] };
  const { change: delta, after: afterAcknowledged } = known.changeTo(next)!;
  assert.deepEqual(delta.sites.removed, ['bob.test']);
  assert.deepEqual(delta.proxies, { put: [], removed: ['webmail.cat.test'] });
  assert.deepEqual(delta.sites.put.map((site) => site.domain), ['ann.test', 'dan.test']);
  const step = applied.change(delta);
  assert.deepEqual(step.replaced.sites.map((site) => site.account).sort(), ['ann', 'bob']);
  const after = afterAcknowledged(step.done());
  assert.ok(after, 'the digest after the change is the one the parent expects');
  assert.equal(after.digest, new AppliedWebState().whole(next).done(), 'and the one of the same state sent whole');
  assert.equal(after.changeTo(next), undefined, 'nothing left to send');
});

test('a change against another state is refused, and an agent that never took a whole state knows none', () => {
  const applied = new AppliedWebState();
  assert.throws(() => applied.change(change('0'.repeat(64), {})), ConflictError);
  const digest = applied.whole(whole).done();
  assert.throws(() => applied.change(change('1'.repeat(64), {})), ConflictError);
  applied.forget();
  assert.throws(() => applied.change(change(digest, {})), ConflictError, 'after a failed step nothing is known');
});

test('a change that would serve a host name twice is refused at its own field, and the state stays', () => {
  const applied = new AppliedWebState();
  const digest = applied.whole(whole).done();
  assert.throws(
    () => applied.change(change(digest, { proxies: { put: [{ domain: 'www.ann.test', upstream: '127.0.0.9' }], removed: [] } })),
    (error: unknown) => error instanceof ValidationError && /proxies\.put\[0\]\.domain/.test(JSON.stringify(error.details)) && /the site ann\.test/.test(error.message),
  );
  assert.throws(
    () => applied.change(change(digest, { sites: { put: [{ account: 'eve', domain: 'eve.test', suspended: false }, { account: 'eve', domain: 'eve.test', suspended: true }], removed: [] } })),
    ValidationError,
    'one domain put twice',
  );
  // A site may take a name another site gives up in the same change.
  const step = applied.change(change(digest, { sites: { put: [{ account: 'eve', domain: 'bob.test', suspended: false }], removed: ['bob.test'] } }));
  assert.deepEqual(step.state.sites.map((site) => `${site.account}/${site.domain}`).sort(), ['ann/ann.test', 'eve/bob.test']);
});
