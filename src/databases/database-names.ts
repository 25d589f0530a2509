/**
 * Names of customer databases and database users. They are identifiers inside SQL, so they pass
 * a strict grammar before anything else sees them (the driver escapes them as well): cPanel's
 * rule that every name starts with the account's name and an underscore (`alice_shop`) keeps
 * accounts from ever naming each other's databases.
 */
import { ValidationError } from '../core/errors.ts';
import { assertValid, checkUsername } from '../core/grammar.ts';

/** MariaDB's own limit for database names; user names are held to the same length. */
export const MAX_NAME_LENGTH = 64;

/** The grammar without the prefix: lower-case letters, digits and underscores, a letter first. */
export const checkDatabaseIdentifier = (value: string): string | null => {
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  if (!/^[a-z][a-z0-9_]*$/.test(value)) return 'may hold only a-z, 0-9 and _, starting with a letter (no quotes, backticks, % or spaces)';
  return null;
};

/** A database or database-user name of `account`: `<account>_<something>`. */
export function assertAccountName(field: string, account: string, value: unknown): string {
  assertValid('account', account, checkUsername);
  const name = assertValid(field, value, checkDatabaseIdentifier);
  const prefix = `${account}_`;
  if (!name.startsWith(prefix) || name.length === prefix.length) throw new ValidationError(field, `must start with the account's prefix '${prefix}' followed by a name`);
  return name;
}

/** The account a prefixed name belongs to (the grammar allows no underscore in account names). */
export function accountOfName(name: string): string {
  return name.slice(0, name.indexOf('_'));
}
