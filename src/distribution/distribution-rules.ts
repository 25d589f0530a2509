/**
 * The restrictions on distributing an account's mail (cPanel linked nodes), as pure checks so
 * the service refuses before queueing and the job's plan step refuses again on what it finds
 * when it runs (the account may have changed while the job waited).
 */
import { ConflictError, NodeUnavailableError, ValidationError } from '../core/errors.ts';

export interface NodeFacts {
  alias: string;
  roles: readonly string[];
  status: string;
  local: boolean;
  /** services of the node that are not running (a degraded node names them) */
  servicesDown?: readonly string[];
}

/** What a mailbox on the target needs: delivery (Postfix) and storage and logins (Dovecot). */
const MAIL_SERVICES = ['dovecot', 'postfix'];

export interface AccountFacts {
  username: string;
  ipv6: boolean;
  /** alias of the child its mail is on, null when on the parent */
  mailChild: string | null;
}

export interface PipeForwarderFacts {
  source: string;
  command: string;
}

export function checkDistribute(account: AccountFacts, target: NodeFacts, pipeForwarders: readonly PipeForwarderFacts[], dropPipeForwarders: boolean): void {
  if (target.local) throw new ValidationError('mailNode', `'${target.alias}' is the parent's own node; use --mail-node local to move mail back`);
  if (account.mailChild === target.alias) throw new ConflictError(`the mail of account '${account.username}' is already on child node '${target.alias}'`);
  if (account.mailChild !== null) {
    throw new ConflictError(
      `account '${account.username}' may have one child per workload and its mail is on '${account.mailChild}'; move it back with --mail-node local before choosing '${target.alias}'`,
    );
  }
  if (!target.roles.includes('mail')) throw new ValidationError('mailNode', `node '${target.alias}' does not have the mail role`);
  // A degraded node takes a move only if what the mail needs runs there: its webmail being down does not stop mail.
  const mailDown = (target.servicesDown ?? []).filter((name) => MAIL_SERVICES.includes(name));
  if (target.status === 'degraded' && mailDown.length > 0) {
    throw new NodeUnavailableError({ message: `node '${target.alias}' is degraded: ${mailDown.join(' and ')} not running there; its mail cannot be moved there now`, details: { node: target.alias, servicesDown: mailDown } });
  }
  if (target.status !== 'ready' && target.status !== 'degraded') {
    throw new NodeUnavailableError({ message: `node '${target.alias}' is not ready (${target.status}); its mail cannot be moved there now`, details: { node: target.alias } });
  }
  if (account.ipv6) throw new ValidationError('ipv6', `account '${account.username}' has IPv6 on; a distributed account cannot have IPv6, turn it off first`);
  if (pipeForwarders.length > 0 && !dropPipeForwarders) {
    const listed = pipeForwarders.map((p) => `${p.source} | ${p.command}`).join(', ');
    throw new ConflictError(
      `account '${account.username}' has ${pipeForwarders.length} pipe-to-program forwarder(s), which a distributed account cannot have: ${listed}; remove them or pass --drop-pipe-forwarders`,
      { pipeForwarders },
    );
  }
}

export function checkDedistribute(account: AccountFacts, local: NodeFacts | undefined): void {
  if (account.mailChild === null) throw new ConflictError(`the mail of account '${account.username}' is already on the parent`);
  if (!local) throw new ValidationError('mailNode', 'the parent has no node of its own linked');
  if (!local.roles.includes('mail')) throw new ValidationError('mailNode', `the parent's own node '${local.alias}' does not have the mail role`);
}

/** Grace durations as people write them: '7d', '12h', '30m', '45s'. */
export function parseGrace(text: string): number {
  const match = /^([0-9]{1,6})([smhd])$/.exec(text);
  if (!match) throw new ValidationError('grace', `'${text}' is not a duration like 7d, 12h, 30m or 45s`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** GUIDs of `source` that `target` lacks: what a copy has not (yet) carried over. */
export function missingGuids(source: readonly string[], target: readonly string[]): string[] {
  const present = new Set(target);
  return source.filter((guid) => !present.has(guid));
}
