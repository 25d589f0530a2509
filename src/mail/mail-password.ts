/** Mailbox passwords as Dovecot's passwd-file keeps them. */
import { encrypt } from 'unixcrypt';
import { ValidationError } from '../core/errors.ts';

/** A hash Dovecot's passwd-file accepts as is; default rounds keep the salt free of 'rounds=' (outside the grammar). */
export function hashMailPassword(plain: string): string {
  if (plain.length === 0) throw new ValidationError('password', 'must not be empty');
  return `{SHA512-CRYPT}${encrypt(plain)}`;
}
