import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, digest } from './digest.ts';

test('the digest ignores item order, key order and undefined fields', () => {
  const a = [
    { id: 'b', port: 2, comment: undefined },
    { id: 'a', port: 1 },
  ];
  const b = [
    { port: 1, id: 'a' },
    { id: 'b', port: 2 },
  ];
  assert.equal(digest(a), digest(b));
  assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] }), '{"a":[{"c":2,"d":1}],"b":1}');
});

test('the digest sees a changed field and a number turned into a string', () => {
  assert.notEqual(digest([{ id: 'a', port: 1 }]), digest([{ id: 'a', port: 2 }]));
  assert.notEqual(digest([{ id: 'a', port: 1 }]), digest([{ id: 'a', port: '1' }]));
  assert.match(digest([]), /^[0-9a-f]{64}$/);
});
