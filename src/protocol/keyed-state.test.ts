import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, ValidationError } from '../core/errors.ts';
import { AppliedState, KnownState, StatePushes, stateDigest, type StateChange } from './keyed-state.ts';
import { MAIL_STATE_SHAPE, type MailState } from './mail-state.ts';

const HASH = '{SHA512-CRYPT}$6$salt$hash';
const state = (quotaMb = 100): MailState => ({
  domains: [{ domain: 'ann.test', account: 'ann', suspended: false }],
  mailboxes: [
    { address: 'info@ann.test', passwordHash: HASH, quotaMb, suspended: false },
    { address: 'sales@ann.test', passwordHash: HASH, quotaMb: 100, suspended: false },
  ],
  forwarders: [{ source: 'all@ann.test', destinations: ['info@ann.test', 'sales@ann.test'] }],
  pipeForwarders: [],
  trustedNetworks: ['127.0.0.1'],
});

test('a mail change carries the changed mailbox alone, and both sides end at the digest of the whole', () => {
  const applied = new AppliedState(MAIL_STATE_SHAPE);
  const known = KnownState.acknowledged(MAIL_STATE_SHAPE, state(), applied.whole(state()).done())!;
  const next = { ...state(250), trustedNetworks: ['127.0.0.2'] };
  const { change, after } = known.changeTo(next)!;
  assert.deepEqual(change.mailboxes, { put: [next.mailboxes[0]], removed: [] });
  assert.deepEqual(change.trustedNetworks, { put: ['127.0.0.2'], removed: ['127.0.0.1'] });
  assert.deepEqual([change.domains, change.forwarders], [{ put: [], removed: [] }, { put: [], removed: [] }]);
  const step = applied.change(change, 'mail state');
  assert.equal(step.state.mailboxes.find((m) => m.address === 'info@ann.test')?.quotaMb, 250);
  const digest = step.done();
  assert.equal(digest, stateDigest(MAIL_STATE_SHAPE, next));
  assert.ok(after(digest));
  assert.equal(after('0'.repeat(64)), undefined, 'another digest leaves the node unknown');
  // A forwarder's destinations in another order are another item: the node renders what it is sent.
  assert.notEqual(stateDigest(MAIL_STATE_SHAPE, { ...next, forwarders: [{ source: 'all@ann.test', destinations: ['sales@ann.test', 'info@ann.test'] }] }), digest);
});

test('a change is refused against another state, or when it puts one key twice', () => {
  const applied = new AppliedState(MAIL_STATE_SHAPE);
  const digest = applied.whole(state()).done();
  const none = { put: [], removed: [] };
  const change = (base: string, mailboxes: StateChange<MailState>['mailboxes']): StateChange<MailState> => ({ base, domains: none, mailboxes, forwarders: none, pipeForwarders: none, trustedNetworks: none });
  assert.throws(() => applied.change(change('f'.repeat(64), none), 'mail state'), ConflictError);
  const twice = state().mailboxes[0]!;
  assert.throws(() => applied.change(change(digest, { put: [twice, twice], removed: [] }), 'mail state'), (error: unknown) => error instanceof ValidationError && error.field === 'mailboxes.put[1]');
});

test('the parent sends the whole state first, then changes; nothing when nothing differs; the whole state again when the node refuses', async () => {
  const pushes = new StatePushes<MailState, { digest: string }>(MAIL_STATE_SHAPE);
  let node = new AppliedState(MAIL_STATE_SHAPE);
  const sent: string[] = [];
  const send = {
    whole: async (whole: MailState) => (sent.push('whole'), { digest: node.whole(whole).done() }),
    change: async (change: StateChange<MailState>) => (sent.push('change'), { digest: node.change(change, 'mail state').done() }),
  };
  await pushes.push('1', state(), send);
  await pushes.push('1', state(250), send);
  assert.equal(await pushes.push('1', state(250), send), undefined);
  node = new AppliedState(MAIL_STATE_SHAPE);
  await pushes.push('1', state(300), send);
  pushes.forget('1');
  await pushes.push('1', state(300), send);
  assert.deepEqual(sent, ['whole', 'change', 'change', 'whole', 'whole']);
});
