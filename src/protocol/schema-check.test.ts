import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { ValidationError } from '../core/errors.ts';
import { routePath } from './agent-route.ts';
import { AGENT_ROUTES } from './agent-routes.ts';
import { decodeLinkToken, encodeLinkToken } from './link-token.ts';
import { checkSchema, compileStrict, describeIssues } from './schema-check.ts';

const Item = Type.Object(
  {
    names: Type.Array(Type.String({ format: 'fp-domain' })),
    kind: Type.Union([Type.Literal('a'), Type.Literal('b')]),
    count: Type.Integer({ minimum: 0, reason: 'must be a count of 0 or more' }),
  },
  { additionalProperties: false },
);

function refusal(value: unknown): ValidationError {
  try {
    checkSchema(Item, value, { root: 'item' });
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    return error;
  }
  assert.fail('accepted');
}

test('a schema refusal names the field with brackets and gives the grammar its own words', () => {
  const error = refusal({ names: ['example.com', 'Bad.example'], kind: 'a', count: 1 });
  assert.equal(error.field, 'names[1]');
  assert.equal(error.message, 'names[1]: must be lower case');
});

test('a refusal says the schema reason, the choices of a union, and what is missing or unknown', () => {
  assert.equal(refusal({ names: [], kind: 'a', count: -1 }).message, 'count: must be a count of 0 or more');
  assert.equal(refusal({ names: [], kind: 'c', count: 0 }).message, 'kind: must be one of a, b');
  assert.equal(refusal({ names: [], kind: 'a' }).message, 'count: is required');
  assert.equal(refusal({ names: [], kind: 'a', count: 0, extra: 1 }).message, 'extra: is not a known field');
  assert.equal(refusal({ names: 'example.com', kind: 'a', count: 0 }).message, 'names: must be an array');
  assert.equal(refusal(null).message, 'item: must be an object');
});

test('nothing is coerced: a number written as a string is refused', () => {
  assert.equal(refusal({ names: [], kind: 'a', count: '1' }).field, 'count');
});

test("the parent API keeps its own spelling of a field (destinations.0)", () => {
  const validate = compileStrict(Item);
  const value = { names: ['x y'], kind: 'a', count: 0 };
  assert.equal(validate(value), false);
  assert.deepEqual(describeIssues(validate.errors ?? [], value, { style: 'api' }).field, 'names.0');
  assert.deepEqual(describeIssues(validate.errors ?? [], value).field, 'names[0]');
});

test('a link token round-trips, and anything else is not a token', () => {
  const payload = { a: '192.0.2.10:7443', f: 'ab:cd', s: 'secret' };
  assert.deepEqual(decodeLinkToken(encodeLinkToken(payload)), payload);
  assert.equal(decodeLinkToken('not a token'), null);
  assert.equal(decodeLinkToken(Buffer.from(JSON.stringify({ a: 1, f: 'x', s: 'y' })).toString('base64url')), null);
});

test('a route path fills its parameters URL-encoded and refuses a missing one', () => {
  assert.equal(routePath(AGENT_ROUTES.mailboxDigest, { address: 'a+b@example.com' }), '/v1/mail/mailboxes/a%2Bb%40example.com/digest');
  assert.equal(routePath(AGENT_ROUTES.heldMailboxes, { domain: 'example.com' }), '/v1/mail/mailboxes?domain=example.com');
  assert.throws(() => routePath(AGENT_ROUTES.dnsZone), /no value for :domain/);
});

test("a domain certificate's body is checked before it leaves the parent: names are domains, and no stray field rides along", () => {
  const body = AGENT_ROUTES.installDomainCertificate.body!;
  const good = { names: ['example.com', 'www.example.com'], certPem: 'CERT', keyPem: 'KEY' };
  assert.doesNotThrow(() => checkSchema(body, good));
  assert.throws(() => checkSchema(body, { ...good, names: ['example.com', 'bad name'] }), (error: unknown) => error instanceof ValidationError && error.field === 'names[1]');
  assert.throws(() => checkSchema(body, { ...good, names: [] }), (error: unknown) => error instanceof ValidationError && error.field === 'names');
  assert.throws(() => checkSchema(body, { ...good, keyPath: '/etc/shadow' }), (error: unknown) => error instanceof ValidationError && error.field === 'keyPath');
  assert.equal(routePath(AGENT_ROUTES.removeDomainCertificate, { domain: 'example.com' }), '/v1/certificates/example.com');
  assert.throws(() => checkSchema(AGENT_ROUTES.retainDomainCertificates.body!, { domains: ['Example.com'] }), (error: unknown) => error instanceof ValidationError && error.field === 'domains[0]');
});
