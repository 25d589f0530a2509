import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../core/errors.ts';
import { validateWebState, type WebState } from './web-state.ts';

const WWW = '/srv/node/www';

const goodState = (): WebState => ({
  sites: [
    { domain: 'example.com', account: 'alice', documentRoot: `${WWW}/alice/example.com/public_html`, suspended: false },
    { domain: 'shop.example.org', account: 'bob', documentRoot: `${WWW}/bob/shop.example.org/public_html`, suspended: true },
  ],
  proxies: [{ domain: 'webmail.example.com', upstream: '127.0.22.3' }],
});

describe('validateWebState', () => {
  it('accepts a good state and returns only known fields', () => {
    const input = { ...goodState(), extra: 'ignored' };
    (input.sites[0] as unknown as Record<string, unknown>).note = 'dropped';
    assert.deepEqual(validateWebState(input, WWW), goodState());
  });

  it('accepts an IPv6 upstream', () => {
    assert.doesNotThrow(() => validateWebState({ sites: [], proxies: [{ domain: 'webmail.example.com', upstream: '2001:db8::1' }] }, WWW));
  });

  const longLabel = 'a'.repeat(64);
  const longName = `${'abcdefghi.'.repeat(25)}com`; // 253 characters: www. makes it too long
  const tooLongName = `${'abcdefghi.'.repeat(25)}comx`;
  const badSites: [string, Record<string, unknown>, RegExp][] = [
    ['newline in domain', { domain: 'example.com\nserver {' }, /sites\[0\]\.domain/],
    ['quote in domain', { domain: 'exa"mple.com' }, /sites\[0\]\.domain/],
    ['semicolon in domain', { domain: 'example.com;' }, /sites\[0\]\.domain/],
    ['braces in domain', { domain: 'example.com}' }, /sites\[0\]\.domain/],
    ['space in domain', { domain: 'example .com' }, /sites\[0\]\.domain/],
    ['NUL in domain', { domain: 'example.com\0' }, /sites\[0\]\.domain/],
    ['64-character label', { domain: `${longLabel}.com` }, /sites\[0\]\.domain/],
    ['254+ character name', { domain: tooLongName }, /sites\[0\]\.domain/],
    ['name that is too long once www. is added', { domain: longName }, /sites\[0\]\.domain/],
    ['cyrillic look-alike', { domain: 'exаmple.com' }, /sites\[0\]\.domain/],
    ['empty domain', { domain: '' }, /sites\[0\]\.domain/],
    ['upper case domain', { domain: 'Example.com' }, /sites\[0\]\.domain/],
    ['domain not a string', { domain: 42 }, /sites\[0\]\.domain/],
    ['path traversal', { documentRoot: `${WWW}/alice/../bob/example.com` }, /sites\[0\]\.documentRoot/],
    ['document root of another account', { documentRoot: `${WWW}/bob/example.com/public_html` }, /sites\[0\]\.documentRoot/],
    ['document root outside www', { documentRoot: '/etc' }, /sites\[0\]\.documentRoot/],
    ['relative document root', { documentRoot: 'alice/example.com' }, /sites\[0\]\.documentRoot/],
    ['document root with space', { documentRoot: `${WWW}/alice/my site` }, /sites\[0\]\.documentRoot/],
    ['document root with semicolon', { documentRoot: `${WWW}/alice/x;y` }, /sites\[0\]\.documentRoot/],
    ['document root with newline', { documentRoot: `${WWW}/alice/x\ny` }, /sites\[0\]\.documentRoot/],
    ['empty document root', { documentRoot: '' }, /sites\[0\]\.documentRoot/],
    ['account with quote', { account: "al'ice" }, /sites\[0\]\.account/],
    ['empty account', { account: '' }, /sites\[0\]\.account/],
    ['suspended as string', { suspended: 'no' }, /sites\[0\]\.suspended/],
  ];
  for (const [label, override, field] of badSites) {
    it(`refuses a site with ${label}`, () => {
      const site = { ...goodState().sites[0], ...override };
      assert.throws(() => validateWebState({ sites: [site], proxies: [] }, WWW), (error: unknown) => error instanceof ValidationError && field.test(error.message));
    });
  }

  const badProxies: [string, Record<string, unknown>, RegExp][] = [
    ['a host name as upstream', { upstream: 'mail.example.com' }, /proxies\[0\]\.upstream/],
    ['a port in the upstream', { upstream: '127.0.22.3:8080' }, /proxies\[0\]\.upstream/],
    ['an upstream with a path', { upstream: '127.0.22.3/x' }, /proxies\[0\]\.upstream/],
    ['an empty upstream', { upstream: '' }, /proxies\[0\]\.upstream/],
    ['a domain with a brace', { domain: 'webmail.example.com{' }, /proxies\[0\]\.domain/],
  ];
  for (const [label, override, field] of badProxies) {
    it(`refuses a proxy with ${label}`, () => {
      const proxy = { ...goodState().proxies[0], ...override };
      assert.throws(() => validateWebState({ sites: [], proxies: [proxy] }, WWW), (error: unknown) => error instanceof ValidationError && field.test(error.message));
    });
  }

  it('names the failing index', () => {
    const state = goodState();
    state.sites[1]!.domain = 'bad domain';
    assert.throws(() => validateWebState(state, WWW), /sites\[1\]\.domain/);
  });

  it('refuses a host name claimed twice, also through www.', () => {
    const state = goodState();
    state.proxies.push({ domain: 'www.example.com', upstream: '127.0.22.4' });
    assert.throws(() => validateWebState(state, WWW), /proxies\[1\]\.domain: host name 'www\.example\.com' is already used by sites\[0\]\.domain/);
  });

  it('refuses a state that is not the right shape', () => {
    assert.throws(() => validateWebState(null, WWW), /state/);
    assert.throws(() => validateWebState({ sites: {}, proxies: [] }, WWW), /sites: must be an array/);
    assert.throws(() => validateWebState({ sites: [], proxies: [null] }, WWW), /proxies\[0\]/);
  });
});
