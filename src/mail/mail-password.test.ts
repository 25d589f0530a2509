import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from 'unixcrypt';
import { PASSWORD_HASH_PATTERN } from '../protocol/mail-state.ts';
import { hashMailPassword } from './mail-password.ts';

describe('hashMailPassword', () => {
  it('writes a {SHA512-CRYPT} hash that the grammar accepts and that verifies', () => {
    const hash = hashMailPassword('correct horse');
    assert.match(hash, PASSWORD_HASH_PATTERN);
    assert.ok(verify('correct horse', hash.slice('{SHA512-CRYPT}'.length)));
    assert.ok(!verify('wrong', hash.slice('{SHA512-CRYPT}'.length)));
  });

  it('salts every hash differently', () => {
    assert.notEqual(hashMailPassword('same'), hashMailPassword('same'));
  });
});
