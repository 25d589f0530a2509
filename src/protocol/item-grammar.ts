/**
 * Grammars of system-data items (firewall rules, access entries, scheduled tasks): every field
 * ends up in an nft comment, a Postfix map or a cron file, and is read back from there, so each
 * value has exactly one accepted spelling.
 */
import { checkDomain, checkEmail, checkNetwork, type Checker } from '../core/grammar.ts';

/**
 * Ids end up in nft comments, cron comments and map comments, so they are short and plain.
 * ':' is deliberately outside the grammar: ids the drivers make up for hand-made entries they
 * find on a node use it, so they can never collide with a real id.
 */
export const checkItemId: Checker = (value) =>
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$/.test(value) ? null : 'must be 1 to 48 characters of A-Z, a-z, 0-9, _, . and -, starting with a letter or digit';

/**
 * The nft comment is a double-quoted string with no escapes, limited to 128 bytes together
 * with the id, so it is printable ASCII without the characters that end or nest a quoted string.
 */
export const checkRuleComment: Checker = (value) => {
  if (value.length === 0) return 'must not be empty (leave it out instead)';
  if (value.length > 64) return 'must be at most 64 characters';
  if (!/^[\x20-\x7e]*$/.test(value)) return 'must be printable ASCII on one line';
  if (/["'\\{};#`$]/.test(value)) return 'must not contain quotes, backslashes, braces, ;, #, ` or $';
  if (value !== value.trim()) return 'must not start or end with a space';
  return null;
};

/** Debian's NAME_REGEX, bounded to the 32 characters useradd accepts. */
export const checkUnixUser: Checker = (value) =>
  /^[a-z_][a-z0-9_-]{0,31}$/.test(value) ? null : 'must be a unix user name: a-z or _ first, then a-z, 0-9, _ and -, at most 32 characters';

/**
 * A network in the one spelling nft and Postfix print back, so a list read from a node compares
 * equal to the list that was written: no host bits beyond the prefix, no '/32'.
 */
export const checkCanonicalNetwork: Checker = (value) => {
  const reason = checkNetwork(value);
  if (reason !== null) return reason;
  const [address, prefixText] = value.split('/') as [string, string | undefined];
  if (prefixText === undefined) return null;
  const prefix = Number(prefixText);
  if (prefix === 32) return `write the address without /32 (${address})`;
  const asNumber = address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  const hostBits = 2 ** (32 - prefix);
  if (asNumber % hostBits !== 0) {
    const networkNumber = asNumber - (asNumber % hostBits);
    const network = [24, 16, 8, 0].map((shift) => Math.floor(networkNumber / 2 ** shift) % 256).join('.');
    return `has host bits set; the network is ${network}/${prefix}`;
  }
  return null;
};

export const checkSenderValue: Checker = (value) => {
  if (value.startsWith('@')) {
    const reason = checkDomain(value.slice(1));
    return reason === null ? null : `domain ${reason}`;
  }
  return checkEmail(value) === null ? null : 'must be an e-mail address (user@example.com) or a domain written @example.com';
};
