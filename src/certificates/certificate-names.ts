/** Which names an account's certificate covers, and the refusal of a name it may not ask for. */
import { ValidationError } from '../core/errors.ts';
import { checkDomain } from '../core/grammar.ts';

/** The host names every account serves from its zone (site, mail, webmail and the mail clients' autoconfiguration). */
export const ACCOUNT_CERTIFICATE_LABELS = ['www', 'mail', 'webmail', 'autoconfig', 'autodiscover'] as const;

export function accountCertificateNames(domain: string): string[] {
  return [domain, ...ACCOUNT_CERTIFICATE_LABELS.map((label) => `${label}.${domain}`)];
}

/**
 * The names of an order: the account's standard names plus any extra ones it asked for, each of
 * which must lie inside the account's zone (Fleetpanel validates by writing that zone).
 */
export function orderNames(domain: string, extra: readonly string[] = []): string[] {
  const names = accountCertificateNames(domain);
  extra.forEach((raw, index) => {
    const name = raw.toLowerCase();
    const grammar = checkDomain(name);
    if (grammar) throw new ValidationError(`names[${index}]`, grammar);
    if (name !== domain && !name.endsWith(`.${domain}`)) {
      throw new ValidationError(`names[${index}]`, `${name} is outside the zone ${domain} that Fleetpanel serves for this account`);
    }
    if (!names.includes(name)) names.push(name);
  });
  return names;
}
