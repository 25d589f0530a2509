/**
 * The mail workload at the parent, as accounts and their users see it: the workload hooks
 * (provision, suspend, update, deprovision) and the mailboxes and forwarders. Every change is
 * written to the store, then pushed to the nodes by the MailStatePusher; a node that refuses it
 * puts the store back.
 */
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../core/errors.ts';
import { assertValid, checkEmail, checkSafePath } from '../core/grammar.ts';
import { SerialByKey } from '../core/serial-by-key.ts';
import type { Principal } from '../auth/principal.ts';
import type { AccountRecord } from '../accounts/account.model.ts';
import type { AccountsService } from '../accounts/accounts.service.ts';
import type { WorkloadService } from '../accounts/workload.ts';
import type { NodeRow } from '../nodes/nodes.repository.ts';
import type { PasswordPolicyService } from '../passwords/password-policy.service.ts';
import type { MailAgents } from './mail-agents.ts';
import type { MailStatePusher } from './mail-state-pusher.ts';
import type { MailRepository, MailboxRow } from './mail.repository.ts';
import { domainOf, MAX_QUOTA_MB } from '../protocol/mail-state.ts';
import { hashMailPassword } from './mail-password.ts';

export interface MailboxView {
  address: string;
  account: string;
  quotaMb: number;
  /** from the node, when the answer came from it */
  messages?: number;
}

export interface ForwarderView {
  source: string;
  type: 'forward' | 'pipe';
  /** type 'forward' */
  destinations?: string[];
  /** type 'pipe': the program run with the message on its standard input */
  command?: string;
}

export interface AddMailboxInput {
  address: string;
  password: string;
  quotaMb?: number;
}

export interface AddForwarderInput {
  source: string;
  destinations?: string[];
  pipe?: string;
}

const MAX_FORWARDER_DESTINATIONS = 50;

export class MailService implements WorkloadService {
  readonly workload = 'mail' as const;
  private readonly perAccount = new SerialByKey();

  constructor(
    private readonly repo: MailRepository,
    private readonly accounts: Pick<AccountsService, 'requireAccount' | 'nodeOf' | 'byDomain' | 'list'>,
    private readonly states: Pick<MailStatePusher, 'pushRouted' | 'pushAccountNodes'>,
    private readonly passwords: Pick<PasswordPolicyService, 'assertPasswordStrength'>,
    private readonly agents: Pick<MailAgents, 'heldMailboxes' | 'removeMailboxData'>,
  ) {}

  // ---- the workload hooks

  async provision(account: AccountRecord): Promise<void> {
    await this.states.pushAccountNodes(account);
  }

  async suspend(account: AccountRecord, _node: NodeRow, suspended: boolean): Promise<void> {
    await this.states.pushAccountNodes(account, { accountId: account.id, suspended });
  }

  async update(account: AccountRecord): Promise<void> {
    await this.states.pushAccountNodes(account);
  }

  /**
   * The domain leaves the node's state first (Postfix stops accepting it, open sessions end),
   * then every Maildir of the domain on the node goes (also those of mailboxes removed earlier
   * whose data stayed), then the rows. Idempotent: a retry finds less to remove.
   */
  async deprovision(account: AccountRecord, node: NodeRow): Promise<void> {
    await this.perAccount.run(account.username, async () => {
      await this.states.pushRouted(node, { accountId: account.id, removed: true });
      const stored = (await this.repo.mailboxes([account.id])).map((m) => m.address);
      const held = (await this.agents.heldMailboxes(node, account.domain)).map((m) => m.address);
      for (const address of new Set([...stored, ...held])) await this.agents.removeMailboxData(node, address);
      await this.repo.removeAccountMail(account.id);
    });
  }

  // ---- mailboxes

  /** The account's mailboxes as its mail node holds them (with message counts). */
  async listMailboxes(principal: Principal, username: string): Promise<{ proxiedFrom: string; account: string; mailboxes: MailboxView[] }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    const node = await this.accounts.nodeOf(account, 'mail');
    const held = new Map((await this.agents.heldMailboxes(node, account.domain)).map((m) => [m.address, m]));
    const mailboxes = (await this.repo.mailboxes([account.id])).map((m): MailboxView => ({ address: m.address, account: username, quotaMb: m.quotaMb, messages: held.get(m.address)?.messages ?? 0 }));
    return { proxiedFrom: node.alias, account: username, mailboxes };
  }

  /** Every mailbox the principal may see, from the store (no node is asked). */
  async listAllMailboxes(principal: Principal): Promise<{ mailboxes: MailboxView[] }> {
    const visible = await this.accounts.list(principal);
    const ids = await this.visibleAccountIds(visible.map((a) => a.username));
    const names = new Map([...ids].map(([name, id]) => [id, name]));
    const rows = await this.repo.mailboxes([...ids.values()]);
    return { mailboxes: rows.map((m) => ({ address: m.address, account: names.get(m.accountId)!, quotaMb: m.quotaMb })) };
  }

  /** The account a mail address belongs to, by its domain; the same 403 as elsewhere when it is not the principal's. */
  async accountForAddress(principal: Principal, address: string, field = 'address'): Promise<{ account: string; domain: string }> {
    const domain = domainOf(assertValid(field, address, checkEmail));
    const account = await this.accounts.byDomain(domain);
    if (!account) {
      if (principal.role === 'admin') throw new NotFoundError('mail domain', domain);
      throw new ForbiddenError(`no account of yours has the domain '${domain}' (you are ${principal.role} '${principal.username}')`);
    }
    await this.accounts.requireAccount(principal, account.username, 'user');
    return { account: account.username, domain };
  }

  async addMailbox(principal: Principal, username: string, input: AddMailboxInput): Promise<{ proxiedFrom: string; mailbox: MailboxView }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    const address = this.addressOfAccount(account, 'address', input.address);
    const quotaMb = this.quotaFor(account, input.quotaMb);
    await this.passwords.assertPasswordStrength('mail', input.password, { mailNodeId: account.mailNodeId, userInputs: [address, account.username, account.domain] });
    const passwordHash = hashMailPassword(input.password);
    return this.perAccount.run(account.username, async () => {
      if (await this.repo.mailbox(address)) throw new ConflictError(`the mailbox ${address} already exists`);
      const count = await this.repo.countMailboxes(account.id);
      if (count >= account.plan.mailboxes) {
        throw new ConflictError(`account '${username}' may have at most ${account.plan.mailboxes} mailbox(es) on plan '${account.plan.name}' and has ${count}`);
      }
      await this.repo.insertMailbox({ accountId: account.id, address, passwordHash, quotaMb });
      const node = await this.pushOrUndo(account, () => this.repo.removeMailbox(address));
      return { proxiedFrom: node.alias, mailbox: { address, account: username, quotaMb } };
    });
  }

  async setMailboxPassword(principal: Principal, username: string, rawAddress: string, password: string): Promise<{ proxiedFrom: string; address: string }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    const address = this.addressOfAccount(account, 'address', rawAddress);
    await this.passwords.assertPasswordStrength('mail', password, { mailNodeId: account.mailNodeId, userInputs: [address, account.username, account.domain] });
    const passwordHash = hashMailPassword(password);
    return this.perAccount.run(account.username, async () => {
      const existing = await this.requireMailbox(account, address);
      await this.repo.setMailboxPasswordHash(address, passwordHash);
      const node = await this.pushOrUndo(account, () => this.repo.setMailboxPasswordHash(address, existing.passwordHash));
      return { proxiedFrom: node.alias, address };
    });
  }

  /** The mailbox leaves the node's state (its sessions end), then its Maildir is deleted, then the row. */
  async removeMailbox(principal: Principal, username: string, rawAddress: string): Promise<{ proxiedFrom: string; removed: string }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    const address = this.addressOfAccount(account, 'address', rawAddress);
    return this.perAccount.run(account.username, async () => {
      const existing = await this.requireMailbox(account, address);
      await this.repo.removeMailbox(address);
      const node = await this.pushOrUndo(account, () => this.repo.insertMailbox(existing));
      await this.agents.removeMailboxData(node, address);
      return { proxiedFrom: node.alias, removed: address };
    });
  }

  // ---- forwarders

  async listForwarders(principal: Principal, username: string): Promise<{ account: string; forwarders: ForwarderView[] }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    return { account: username, forwarders: await this.forwarderViews([account.id]) };
  }

  async listAllForwarders(principal: Principal): Promise<{ forwarders: (ForwarderView & { account: string })[] }> {
    const ids = await this.visibleAccountIds((await this.accounts.list(principal)).map((a) => a.username));
    const result: (ForwarderView & { account: string })[] = [];
    for (const [name, id] of ids) result.push(...(await this.forwarderViews([id])).map((f) => ({ ...f, account: name })));
    return { forwarders: result };
  }

  async addForwarder(principal: Principal, username: string, input: AddForwarderInput): Promise<{ proxiedFrom: string; forwarder: ForwarderView }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    const source = this.addressOfAccount(account, 'source', input.source);
    if ((input.destinations === undefined) === (input.pipe === undefined)) throw new ValidationError('destinations', 'give either destinations (addresses) or pipe (a program), not both');
    if (input.pipe !== undefined) {
      // The program path reaches master.cf as argv; only a plain absolute path is accepted.
      const command = assertValid('pipe', input.pipe, checkSafePath);
      if (account.mailNodeId !== null) {
        const child = await this.accounts.nodeOf(account, 'mail');
        throw new ConflictError(`pipe-to-program forwarders are not allowed on ${account.username}: its mail lives on the child node '${child.alias}' (forward to an address instead)`);
      }
      return this.perAccount.run(account.username, async () => {
        if ((await this.repo.pipeForwarders([account.id])).some((p) => p.source === source && p.command === command)) throw new ConflictError(`${source} already pipes to ${command}`);
        await this.repo.insertPipeForwarder({ accountId: account.id, source, command });
        const node = await this.pushOrUndo(account, () => this.repo.removePipeForwarders(account.id, source, command).then(() => undefined));
        return { proxiedFrom: node.alias, forwarder: { source, type: 'pipe', command } };
      });
    }
    const destinations = [...new Set((input.destinations ?? []).map((d, index) => assertValid(`destinations[${index}]`, d, checkEmail)))];
    if (destinations.length === 0) throw new ValidationError('destinations', 'must name at least one address');
    if (destinations.length > MAX_FORWARDER_DESTINATIONS) throw new ValidationError('destinations', `must name at most ${MAX_FORWARDER_DESTINATIONS} addresses`);
    return this.perAccount.run(account.username, async () => {
      const existing = new Set((await this.repo.forwarders([account.id])).filter((f) => f.source === source).map((f) => f.destination));
      const added = destinations.filter((d) => !existing.has(d));
      if (added.length === 0) throw new ConflictError(`${source} already forwards to ${destinations.join(', ')}`);
      await this.repo.insertForwarders(account.id, source, added);
      const node = await this.pushOrUndo(account, async () => {
        for (const destination of added) await this.repo.removeForwarders(account.id, source, destination);
      });
      return { proxiedFrom: node.alias, forwarder: { source, type: 'forward', destinations: [...existing, ...added] } };
    });
  }

  /** Removes the source's forwarders: all of them, or only one destination or one pipe program. */
  async removeForwarder(principal: Principal, username: string, rawSource: string, only: { destination?: string; pipe?: string } = {}): Promise<{ proxiedFrom: string; removed: ForwarderView[] }> {
    const account = await this.accounts.requireAccount(principal, username, 'user');
    const source = this.addressOfAccount(account, 'source', rawSource);
    if (only.destination !== undefined) assertValid('destination', only.destination, checkEmail);
    if (only.pipe !== undefined) assertValid('pipe', only.pipe, checkSafePath);
    return this.perAccount.run(account.username, async () => {
      const forwards = only.pipe === undefined ? await this.repo.removeForwarders(account.id, source, only.destination) : [];
      const pipes = only.destination === undefined ? await this.repo.removePipeForwarders(account.id, source, only.pipe) : [];
      if (forwards.length === 0 && pipes.length === 0) throw new NotFoundError({ message: `${source} has no such forwarder` });
      const node = await this.pushOrUndo(account, async () => {
        if (forwards.length > 0) await this.repo.insertForwarders(account.id, source, forwards.map((f) => f.destination));
        for (const pipe of pipes) await this.repo.insertPipeForwarder(pipe);
      });
      const removed: ForwarderView[] = [
        ...(forwards.length > 0 ? [{ source, type: 'forward' as const, destinations: forwards.map((f) => f.destination) }] : []),
        ...pipes.map((p) => ({ source, type: 'pipe' as const, command: p.command })),
      ];
      return { proxiedFrom: node.alias, removed };
    });
  }

  // ---- helpers

  /** A change is in the store before the push; when a node refuses it, the store is put back and the node re-pushed. */
  private async pushOrUndo(account: AccountRecord, undo: () => Promise<void>): Promise<NodeRow> {
    try {
      return await this.states.pushAccountNodes(account);
    } catch (error) {
      await undo();
      await this.states.pushAccountNodes(account).catch(() => undefined);
      throw error;
    }
  }

  private addressOfAccount(account: AccountRecord, field: string, address: string): string {
    assertValid(field, address, checkEmail);
    if (domainOf(address) !== account.domain) throw new ValidationError(field, `must be an address at the account's domain ${account.domain}`);
    return address;
  }

  /** The plan's disk space bounds each mailbox's quota (0 in the plan: no bound); no quota given = the plan's whole space. */
  private quotaFor(account: AccountRecord, requested: number | undefined): number {
    const planMb = Math.min(account.plan.diskMb, MAX_QUOTA_MB);
    if (requested === undefined) return planMb;
    if (!Number.isInteger(requested) || requested < 0 || requested > MAX_QUOTA_MB) throw new ValidationError('quotaMb', `must be a whole number from 0 (no limit) to ${MAX_QUOTA_MB}`);
    if (planMb > 0 && (requested === 0 || requested > planMb)) throw new ValidationError('quotaMb', `must be from 1 to ${planMb} MB, the disk space of plan '${account.plan.name}'`);
    return requested;
  }

  private async requireMailbox(account: AccountRecord, address: string): Promise<MailboxRow> {
    const existing = await this.repo.mailbox(address);
    if (!existing || existing.accountId !== account.id) throw new NotFoundError({ message: `account '${account.username}' has no mailbox ${address}` });
    return existing;
  }

  private async forwarderViews(accountIds: number[]): Promise<ForwarderView[]> {
    const grouped = new Map<string, string[]>();
    for (const row of await this.repo.forwarders(accountIds)) grouped.set(row.source, [...(grouped.get(row.source) ?? []), row.destination]);
    const forwards = [...grouped].map(([source, destinations]): ForwarderView => ({ source, type: 'forward', destinations }));
    const pipes = (await this.repo.pipeForwarders(accountIds)).map((p): ForwarderView => ({ source: p.source, type: 'pipe', command: p.command }));
    return [...forwards, ...pipes].sort((a, b) => a.source.localeCompare(b.source));
  }

  private visibleAccountIds(usernames: string[]): Promise<Map<string, number>> {
    return this.repo.accountIds(usernames);
  }
}
