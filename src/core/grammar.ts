/**
 * Strict grammars for every value that can end up inside a daemon's configuration file.
 * Everything is ASCII only: an internationalised domain must arrive in its punycode (xn--) form,
 * so unicode look-alikes never reach a config. Each checker returns null when the value is
 * acceptable, or a reason a person can act on.
 */
import { ValidationError } from './errors.ts';

export type Checker = (value: string) => string | null;

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const ASCII_PRINTABLE = /^[\x21-\x7e]*$/;

export const checkDomain: Checker = (value) => {
  if (value.length === 0) return 'must not be empty';
  if (!ASCII_PRINTABLE.test(value)) return 'must be an ASCII domain name (use the xn-- form for international names)';
  if (value.length > 253) return 'must be at most 253 characters';
  if (value !== value.toLowerCase()) return 'must be lower case';
  const labels = value.split('.');
  if (labels.length < 2) return 'must have at least two labels (example.com)';
  for (const label of labels) {
    if (label.length > 63) return `label '${label.slice(0, 20)}…' is longer than 63 characters`;
    if (!LABEL.test(label)) return `label '${label}' may hold only a-z, 0-9 and inner hyphens`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return 'the top-level label must not be numeric';
  return null;
};

/**
 * An account's own domain, from which the panel makes host names (www., webmail.,
 * _acme-challenge.www.) and file names (its site's files, logs and certificates, which a file
 * system holds to 255 characters with their prefixes and suffixes): shorter than any domain.
 */
export const ACCOUNT_DOMAIN_MAX_LENGTH = 200;

export const checkAccountDomain: Checker = (value) =>
  checkDomain(value) ?? (value.length > ACCOUNT_DOMAIN_MAX_LENGTH ? `must be at most ${ACCOUNT_DOMAIN_MAX_LENGTH} characters for an account (host and file names are made from it)` : null);

/** A host name, which unlike a domain may be a single label (a node's short name). */
export const checkHostname: Checker = (value) => {
  if (value.length === 0) return 'must not be empty';
  if (value.length > 253) return 'must be at most 253 characters';
  const labels = value.split('.');
  for (const label of labels) {
    if (!LABEL.test(label)) return `label '${label}' may hold only a-z, 0-9 and inner hyphens`;
  }
  return null;
};

export const checkIpv4: Checker = (value) => {
  const parts = value.split('.');
  if (parts.length !== 4) return 'must be a dotted IPv4 address';
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return 'must be a dotted IPv4 address';
  }
  return null;
};

export const checkIpv6: Checker = (value) => {
  if (!/^[0-9a-f:]{2,39}$/.test(value) || !value.includes(':')) return 'must be an IPv6 address in lower case';
  const halves = value.split('::');
  if (halves.length > 2) return 'must contain "::" at most once';
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  if (groups.some((g) => g.length === 0 || g.length > 4)) return 'has an empty or too long group';
  if (halves.length === 1 ? groups.length !== 8 : groups.length > 7) return 'has the wrong number of groups';
  return null;
};

/** A node's host: an IPv4 address or a host name. */
export const checkHost: Checker = (value) => (checkIpv4(value) === null ? null : checkHostname(value) && 'must be an IPv4 address or a host name');

/** An IPv4 network in CIDR form, or a single address. */
export const checkNetwork: Checker = (value) => {
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || address === undefined) return 'must be an IPv4 address or network (192.0.2.0/24)';
  if (checkIpv4(address) !== null) return 'must be an IPv4 address or network (192.0.2.0/24)';
  if (prefix !== undefined && (!/^(0|[1-9][0-9]?)$/.test(prefix) || Number(prefix) > 32)) return 'prefix must be 0 to 32';
  return null;
};

/** RFC 5321 dot-atom local part, narrowed: no quoting, no leading/trailing/double dots. */
export const checkLocalPart: Checker = (value) => {
  if (value.length === 0) return 'must not be empty';
  if (value.length > 64) return 'must be at most 64 characters';
  if (!/^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/.test(value)) {
    return 'may hold only lower-case a-z, 0-9 and . _ - + (no leading, trailing or double dots)';
  }
  // Characters that are legal in RFC 5321 but that break config files or shells are refused too.
  if (/[!#$%&'*/=?^`{|}~]/.test(value)) return 'may hold only lower-case a-z, 0-9 and . _ - +';
  return null;
};

export const checkEmail: Checker = (value) => {
  if (value.length > 254) return 'must be at most 254 characters';
  const at = value.lastIndexOf('@');
  if (at <= 0) return 'must be an address like user@example.com';
  const local = checkLocalPart(value.slice(0, at));
  if (local) return `local part ${local}`;
  const domain = checkDomain(value.slice(at + 1));
  if (domain) return `domain ${domain}`;
  return null;
};

/** Account user names: a lower-case letter first, then lower-case letters and digits, at most 16. */
export const checkUsername: Checker = (value) => {
  if (!/^[a-z][a-z0-9]{0,15}$/.test(value)) return 'must start with a lower-case letter and hold only a-z and 0-9, at most 16 characters';
  return null;
};

export const checkAlias: Checker = (value) => {
  if (!/^[A-Za-z0-9_-]{1,50}$/.test(value)) return 'must be 1 to 50 characters of A-Z, a-z, 0-9, _ and -';
  return null;
};

/** An absolute path below a root, without traversal, with only safe characters. */
export const checkSafePath: Checker = (value) => {
  if (!/^\/[A-Za-z0-9._/-]*$/.test(value)) return 'must be an absolute path of A-Z, a-z, 0-9, ., _, - and /';
  if (value.split('/').some((seg) => seg === '..' || seg === '.')) return 'must not contain . or .. segments';
  if (value.includes('//')) return 'must not contain empty segments';
  return null;
};

export const checkPort: Checker = (value) => {
  if (!/^[1-9][0-9]{0,4}$/.test(value) || Number(value) > 65535) return 'must be a port number from 1 to 65535';
  return null;
};

/** A single line of text without control characters (used for free-text that is quoted into files). */
export const checkSafeLine: Checker = (value) => {
  if (value.length === 0) return 'must not be empty';
  if (value.length > 1024) return 'must be at most 1024 characters';
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\x00-\x1f\x7f]/.test(value)) return 'must not contain control characters or line breaks';
  return null;
};

/** Runs a checker and throws a ValidationError that names the field. */
export function assertValid(field: string, value: unknown, checker: Checker): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string');
  const reason = checker(value);
  if (reason !== null) throw new ValidationError(field, reason);
  return value;
}

/** The named grammars, registered as JSON-schema formats on every HTTP surface. */
export const FORMATS: Record<string, Checker> = {
  'fp-domain': checkDomain,
  'fp-account-domain': checkAccountDomain,
  'fp-hostname': checkHostname,
  'fp-host': checkHost,
  'fp-ipv4': checkIpv4,
  'fp-ipv6': checkIpv6,
  'fp-network': checkNetwork,
  'fp-localpart': checkLocalPart,
  'fp-email': checkEmail,
  'fp-username': checkUsername,
  'fp-alias': checkAlias,
  'fp-path': checkSafePath,
  'fp-line': checkSafeLine,
};
