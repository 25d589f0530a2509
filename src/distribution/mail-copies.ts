/**
 * How an extra copy of an account's mail shows in a node's MailState. The mail service derives
 * each node's state from the account's placement; while a move is under way (or during the grace
 * period after one) another node must still know the mailboxes, or doveadm could not read,
 * sync or digest them there.
 */
import type { MailMailbox, MailState } from '../protocol/mail-state.ts';
import type { MailCopyPhase } from './distribution.repository.ts';

export interface MailCopy {
  domain: string;
  account: string;
  suspended: boolean;
  phase: MailCopyPhase;
  mailboxes: MailMailbox[];
  /** address of the node serving the mail; 'draining' and 'grace' copies route there */
  mailNodeAddress: string;
  /** the parent's address, which a child trusts for proxied logins */
  parentAddress?: string;
}

/** Adds the copies to the state; entries the store already put there win, so nothing is listed twice. */
export function addMailCopies(state: MailState, copies: readonly MailCopy[], nodeAddress: string): void {
  for (const copy of copies) {
    if (!state.domains.some((d) => d.domain === copy.domain)) {
      // A staging copy serves nothing yet; a draining one hands every delivery to the mail node
      // and a grace one every delivery and login.
      const routeTo = copy.phase === 'staging' || copy.mailNodeAddress === nodeAddress ? {} : { relayTo: copy.mailNodeAddress, ...(copy.phase === 'grace' ? { proxyTo: copy.mailNodeAddress } : {}) };
      state.domains.push({ domain: copy.domain, account: copy.account, suspended: copy.suspended, ...routeTo });
    } else if (copy.phase === 'draining') {
      // While a copy is being read for a sync, digest or removal its logins are served here from
      // the copy rather than proxied: the move's verification reads exactly what users see here.
      const entry = state.domains.find((d) => d.domain === copy.domain)!;
      delete entry.proxyTo;
    }
    const listed = new Set(state.mailboxes.map((m) => m.address));
    for (const mailbox of copy.mailboxes) if (!listed.has(mailbox.address)) state.mailboxes.push(mailbox);
    if (copy.parentAddress && copy.parentAddress !== nodeAddress && !state.trustedNetworks.includes(copy.parentAddress)) state.trustedNetworks.push(copy.parentAddress);
  }
  state.domains.sort((a, b) => a.domain.localeCompare(b.domain));
}
