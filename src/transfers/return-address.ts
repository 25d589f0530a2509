/**
 * Where an undone import sends back what the target held for the account: the source's mail node.
 * The target takes only an IPv4 address there (`returnTo`, format fp-ipv4: it becomes a Postfix
 * relay), so a mail node linked by host name would make it refuse the whole undo with a 400 and
 * leave the import standing there. Such an undo goes without `returnTo` (the target then records
 * no forward back here): the import is removed all the same, and the job's progress says why.
 */
import { checkIpv4 } from '../core/grammar.ts';

export type ReturnAddress = { returnTo: string } | { returnTo: undefined; why: string };

export function returnAddressOf(mailNodeAlias: string, host: string): ReturnAddress {
  if (checkIpv4(host) === null) return { returnTo: host };
  return {
    returnTo: undefined,
    why: `the mail node ${mailNodeAlias} is linked by host name (${host}), and the target relays back only to an IPv4 address: the import is removed there without returnTo, so the target does not relay here the mail it held for the account or still receives for the domain`,
  };
}
