/**
 * Accounts: creating them with every workload placed and provisioned (or none), changing,
 * suspending and terminating them, and deciding who may see or touch which one.
 */
import { SerialByKey } from '../core/serial-by-key.ts';
import { ConflictError, FleetError, ForbiddenError, NodeUnavailableError, NotFoundError, ValidationError, refusalOfKind } from '../core/errors.ts';
import { assertValid, checkAccountDomain, checkAlias, checkUsername } from '../core/grammar.ts';
import type { Principal } from '../auth/principal.ts';
import type { AuthService } from '../auth/auth.service.ts';
import type { NodeRow, NodesRepository } from '../nodes/nodes.repository.ts';
import type { PasswordPolicyService } from '../passwords/password-policy.service.ts';
import { ADMIN_OWNER, WORKLOADS, mayAccess, type AccountAccess, type AccountRecord, type AccountView, type Plan, type Workload } from './account.model.ts';
import type { AccountsRepository } from './accounts.repository.ts';
import { chooseNode, type PlacementCandidate } from './placement.ts';
import type { WorkloadRegistry, WorkloadService } from './workload.ts';

export interface CreateAccountInput {
  username: string;
  domain: string;
  password: string;
  /** 'admin' (the default) or a reseller; only the admin may name one */
  owner?: string;
  /** a plan's name; the default plan when absent */
  plan?: string;
  ipv6?: boolean;
  /** alias of the node for the mail, or 'local'; absent = the owning reseller's, else the parent's */
  mailNode?: string;
}

export interface ModifyAccountInput {
  plan?: string;
  ipv6?: boolean;
  password?: string;
  owner?: string;
}

export interface TerminationReport {
  username: string;
  removed: { workload: Workload; node: string }[];
}

const LOCAL_MAIL_NODE = 'local';

const toCandidate = (row: NodeRow): PlacementCandidate => ({ id: row.id, alias: row.alias, roles: row.roles, status: row.status, local: row.is_local === 1 });

function describeFailure(error: unknown): { kind: FleetError['kind']; message: string } {
  if (error instanceof FleetError) return { kind: error.kind, message: error.message };
  return { kind: 'internal', message: error instanceof Error ? error.message : String(error) };
}

export class AccountsService {
  private readonly creations = new SerialByKey();
  private readonly terminationSteps: ((account: AccountRecord) => Promise<void>)[] = [];

  constructor(
    private readonly repo: AccountsRepository,
    private readonly nodeRows: Pick<NodesRepository, 'list' | 'byId' | 'byAlias'>,
    private readonly auth: Pick<AuthService, 'hashNewPassword' | 'createLoginWithHash' | 'removeLogin' | 'setPassword' | 'setSuspended' | 'setOwner'>,
    private readonly passwords: Pick<PasswordPolicyService, 'assertPasswordStrength'>,
    private readonly workloads: WorkloadRegistry,
  ) {}

  /** Data an account has beside its placed workloads (databases) goes first when it is terminated. */
  addTerminationStep(step: (account: AccountRecord) => Promise<void>): void {
    this.terminationSteps.push(step);
  }

  // ---- access, for this service and for the workload services' own routes

  /**
   * The account if the principal may reach it at that level. Someone other than the admin gets
   * the same 403 for an account that is not theirs and for one that does not exist, so user
   * names cannot be probed.
   */
  async requireAccount(principal: Principal, username: string, access: AccountAccess): Promise<AccountRecord> {
    const account = await this.repo.byUsername(username);
    if (!account) {
      if (principal.role === 'admin') throw new NotFoundError('account', username);
      throw new ForbiddenError(`account '${username}' is not yours (you are ${principal.role} '${principal.username}')`);
    }
    if (!mayAccess(principal, account, 'user')) throw new ForbiddenError(`account '${username}' is not yours (you are ${principal.role} '${principal.username}')`);
    if (!mayAccess(principal, account, access)) throw new ForbiddenError(`only the owner of account '${username}' (${account.owner}) may do this`);
    return account;
  }

  /** The account whose main domain this is, for services that receive a domain or an address. */
  byDomain(domain: string): Promise<AccountRecord | undefined> {
    return this.repo.byDomain(domain);
  }

  /** The node that holds one workload of an account. */
  async nodeOf(account: AccountRecord, workload: Workload): Promise<NodeRow> {
    const placement = (await this.repo.placements(account.id)).find((p) => p.workload === workload);
    const row = placement && (await this.nodeRows.byId(placement.nodeId));
    if (!row) throw new NodeUnavailableError({ message: `the ${workload} of account '${account.username}' has no node (it was unlinked)`, details: { workload } });
    return row;
  }

  /** Accounts with a workload on the node: the node-usage check that keeps a node from being unlinked under them. */
  usernamesOnNode(node: NodeRow): Promise<string[]> {
    return this.repo.usernamesOnNode(node.id);
  }

  // ---- reading

  async list(principal: Principal): Promise<AccountView[]> {
    let records: AccountRecord[];
    if (principal.role === 'admin') records = await this.repo.list();
    else if (principal.role === 'reseller') records = await this.repo.list(principal.username);
    else records = (await this.repo.list()).filter((a) => a.username === principal.username);
    return this.toViews(records);
  }

  async show(principal: Principal, username: string): Promise<AccountView> {
    return (await this.toViews([await this.requireAccount(principal, username, 'user')]))[0]!;
  }

  private async toViews(records: AccountRecord[]): Promise<AccountView[]> {
    const placements = await this.repo.placementViews(records.map((r) => r.id));
    const resellers = await this.repo.resellerUsernames();
    const aliases = new Map((await this.nodeRows.list()).map((n) => [n.id, n.alias]));
    return records.map((r) => ({
      username: r.username,
      domain: r.domain,
      plan: r.plan.name,
      owner: r.owner,
      ipv6: r.ipv6,
      suspended: r.suspended,
      reseller: resellers.has(r.username),
      mailNode: r.mailNodeId === null ? null : (aliases.get(r.mailNodeId) ?? `#${r.mailNodeId} (gone)`),
      placements: placements.get(r.id) ?? [],
      createdAt: new Date(r.createdAt).toISOString(),
    }));
  }

  // ---- creating

  async create(principal: Principal, input: CreateAccountInput): Promise<AccountView> {
    if (principal.role === 'user') throw new ForbiddenError(`creating accounts needs the admin or reseller role; you are user '${principal.username}'`);
    const username = assertValid('username', input.username, checkUsername);
    const domain = assertValid('domain', input.domain, checkAccountDomain);
    // Where an account's mail lives is the admin's decision (cPanel: distribution is for administrators only).
    if (input.mailNode !== undefined && principal.role !== 'admin') throw new ForbiddenError("only the admin chooses a new account's mail node; yours follow your own");
    const owner = await this.ownerForNewAccount(principal, input.owner);
    const plan = await this.planNamed(input.plan);
    const requestedMailNode = await this.mailNodeForNewAccount(owner, input.mailNode);
    if (input.ipv6 && requestedMailNode && requestedMailNode.is_local !== 1) {
      throw new ValidationError('ipv6', `cannot be on for an account whose mail is on child node '${requestedMailNode.alias}'; IPv6 is for accounts served by the parent only`);
    }
    await this.passwords.assertPasswordStrength('account', input.password, { userInputs: [username, domain] });
    // Hashed before the lock: argon2id is the slowest step here, and under the owner's lock every
    // creation of that owner would wait for the hashes of all the ones before it.
    const passwordHash = await this.auth.hashNewPassword(input.password);

    // The owner's lock covers the checks and the insert that they guard; the workloads are set
    // up outside it, so creations run side by side and their node pushes share batches. The row
    // exists from here on, so a second creation of the same name or domain is refused meanwhile.
    const { record, placements } = await this.creations.run(owner, async () => {
      if (await this.repo.byUsername(username)) throw new ConflictError(`an account named '${username}' already exists`);
      const sameDomain = await this.repo.byDomain(domain);
      if (sameDomain) throw new ConflictError(`the domain '${domain}' already belongs to account '${sameDomain.username}'`);
      if (owner !== ADMIN_OWNER) await this.assertResellerHasRoom(owner);

      const placements = await this.placeWorkloads(requestedMailNode);
      const mailNode = placements.find((p) => p.workload === 'mail')!.node;
      await this.auth.createLoginWithHash(username, 'user', passwordHash, owner);
      let record: AccountRecord;
      try {
        record = await this.repo.insert({
          username,
          domain,
          planId: plan.id,
          owner,
          ipv6: input.ipv6 ?? false,
          mailNodeId: mailNode.is_local === 1 ? null : mailNode.id,
          placements: placements.map((p) => ({ workload: p.workload, nodeId: p.node.id })),
        });
      } catch (error) {
        await this.auth.removeLogin(username);
        if (/unique|duplicate/i.test((error as Error).message)) throw new ConflictError(`an account named '${username}' or with the domain '${domain}' was created at the same moment`);
        throw error;
      }
      return { record, placements };
    });
    await this.provisionAll(record, placements);
    return (await this.toViews([record]))[0]!;
  }

  private async ownerForNewAccount(principal: Principal, requested: string | undefined): Promise<string> {
    if (principal.role === 'reseller') {
      if (requested !== undefined && requested !== principal.username) throw new ForbiddenError(`a reseller creates accounts it owns itself; only the admin may name another owner ('${requested}')`);
      if (!(await this.repo.reseller(principal.username))) throw new ForbiddenError(`'${principal.username}' has no reseller privileges`);
      return principal.username;
    }
    const owner = requested ?? ADMIN_OWNER;
    if (owner === ADMIN_OWNER) return owner;
    assertValid('owner', owner, checkUsername);
    if (!(await this.repo.reseller(owner))) throw new ValidationError('owner', `'${owner}' is not a reseller (grant it with \`fleetpanel reseller grant ${owner}\`)`);
    return owner;
  }

  private async planNamed(name: string | undefined): Promise<Plan> {
    if (name === undefined) return this.repo.defaultPlan();
    const plan = await this.repo.planByName(name);
    if (!plan) throw new ValidationError('plan', `no plan is named '${name}' (see \`fleetpanel plan list\`)`);
    return plan;
  }

  /**
   * The node named for the mail, or, for a reseller's new account, the node of the reseller's
   * own mail (cPanel: a distributed reseller's new accounts are distributed to the same child).
   * undefined = the default placement.
   */
  private async mailNodeForNewAccount(owner: string, requested: string | undefined): Promise<NodeRow | undefined> {
    if (requested === LOCAL_MAIL_NODE) {
      const local = (await this.nodeRows.list()).find((n) => n.is_local === 1);
      if (!local) throw new ValidationError('mailNode', 'the parent has no node of its own linked');
      return local;
    }
    if (requested !== undefined) {
      assertValid('mailNode', requested, checkAlias);
      const row = await this.nodeRows.byAlias(requested);
      if (!row) throw new ValidationError('mailNode', `no node is named '${requested}'`);
      return row;
    }
    if (owner === ADMIN_OWNER) return undefined;
    const reseller = await this.repo.byUsername(owner);
    if (reseller?.mailNodeId == null) return undefined;
    return this.nodeRows.byId(reseller.mailNodeId);
  }

  private async assertResellerHasRoom(reseller: string): Promise<void> {
    const limits = await this.repo.reseller(reseller);
    if (!limits) throw new ForbiddenError(`'${reseller}' has no reseller privileges`);
    if (limits.maxAccounts === null) return;
    const owned = await this.repo.countOwnedBy(reseller);
    if (owned >= limits.maxAccounts) throw new ForbiddenError(`reseller '${reseller}' may own at most ${limits.maxAccounts} account(s) and owns ${owned}`);
  }

  private async placeWorkloads(requestedMailNode: NodeRow | undefined): Promise<{ workload: Workload; node: NodeRow }[]> {
    const rows = await this.nodeRows.list();
    const candidates = rows.map(toCandidate);
    return WORKLOADS.map((workload) => {
      const requested = workload === 'mail' && requestedMailNode ? toCandidate(requestedMailNode) : undefined;
      const chosen = chooseNode(workload, candidates, requested);
      return { workload, node: rows.find((r) => r.id === chosen.id)! };
    });
  }

  /**
   * Provisions every registered workload; on a failure undoes the ones done and removes the
   * account, so it was never created. Every workload goes out side by side, each joining its own
   * node's batch: none needs another (the zone's records are derived from the placements, stored
   * before this). A new domain's zone may answer a moment before its site and mail do; the account
   * is reported created only once all three are served.
   */
  private async provisionAll(record: AccountRecord, placements: { workload: Workload; node: NodeRow }[]): Promise<void> {
    const started = this.workloads.registered().map((service) => ({ service, node: placements.find((p) => p.workload === service.workload)!.node }));
    const outcomes = await Promise.allSettled(started.map(({ service, node }) => service.provision(record, node)));
    const failed = outcomes.findIndex((outcome) => outcome.status === 'rejected');
    if (failed < 0) return;
    const done = started.filter((_, index) => outcomes[index]!.status === 'fulfilled');
    const { service, node } = started[failed]!;
    const undoFailures: string[] = [];
    // In the reverse of the registry's order: DNS first, so the names stop pointing at what is being removed.
    for (const { service: doneService, node: doneNode } of done.reverse()) {
      await doneService.deprovision(record, doneNode).catch((undoError: unknown) => undoFailures.push(`${doneService.workload} on '${doneNode.alias}': ${describeFailure(undoError).message}`));
    }
    await this.repo.remove(record.id);
    await this.auth.removeLogin(record.username);
    const failure = describeFailure((outcomes[failed] as PromiseRejectedResult).reason);
    const leftovers = undoFailures.length > 0 ? `; undoing also failed for ${undoFailures.join('; ')}` : '';
    throw refusalOfKind(failure.kind, `account '${record.username}' was not created: its ${service.workload} could not be set up on node '${node.alias}': ${failure.message}${leftovers}`);
  }

  // ---- changing

  async modify(principal: Principal, username: string, changes: ModifyAccountInput): Promise<AccountView> {
    const administrative = changes.plan !== undefined || changes.ipv6 !== undefined || changes.owner !== undefined;
    if (!administrative && changes.password === undefined) throw new ValidationError('body', 'name something to change: plan, ipv6, password or owner');
    const account = await this.requireAccount(principal, username, administrative ? 'owner' : 'user');
    if (changes.owner !== undefined && principal.role !== 'admin') throw new ForbiddenError('only the admin may give an account to another owner');

    const plan = changes.plan === undefined ? undefined : await this.planNamed(changes.plan);
    if (changes.ipv6 === true && account.mailNodeId !== null) {
      throw new ValidationError('ipv6', `cannot be turned on while the account's mail is on a child node; move the mail back to the parent first`);
    }
    if (changes.owner !== undefined) await this.assertValidNewOwner(account, changes.owner);
    if (changes.password !== undefined) {
      await this.passwords.assertPasswordStrength('account', changes.password, { userInputs: [account.username, account.domain] });
    }

    const workloadChange = (plan !== undefined && plan.id !== account.plan.id) || (changes.ipv6 !== undefined && changes.ipv6 !== account.ipv6);
    if (workloadChange) {
      await this.repo.update(account.id, { planId: plan?.id, ipv6: changes.ipv6 });
      const updated = (await this.repo.byUsername(username))!;
      await this.updateWorkloads(updated, account);
    }
    if (changes.owner !== undefined && changes.owner !== account.owner) {
      await this.repo.update(account.id, { owner: changes.owner });
      await this.auth.setOwner(username, changes.owner);
    }
    if (changes.password !== undefined) await this.auth.setPassword(username, changes.password);
    return this.show(principal, username);
  }

  private async assertValidNewOwner(account: AccountRecord, owner: string): Promise<void> {
    if (owner === ADMIN_OWNER) return;
    assertValid('owner', owner, checkUsername);
    if (owner === account.username) throw new ValidationError('owner', 'an account cannot own itself');
    if (!(await this.repo.reseller(owner))) throw new ValidationError('owner', `'${owner}' is not a reseller`);
    if (await this.repo.reseller(account.username)) throw new ValidationError('owner', `'${account.username}' is a reseller; resellers are owned by the admin`);
    await this.assertResellerHasRoom(owner);
  }

  /** Tells each workload about new settings; if one refuses, the old settings are put back everywhere. */
  private async updateWorkloads(updated: AccountRecord, previous: AccountRecord): Promise<void> {
    const done: { service: WorkloadService; node: NodeRow }[] = [];
    for (const service of this.workloads.registered()) {
      if (!service.update) continue;
      const node = await this.nodeOf(updated, service.workload);
      try {
        await service.update(updated, node);
        done.push({ service, node });
      } catch (error) {
        await this.repo.update(previous.id, { planId: previous.plan.id, ipv6: previous.ipv6 });
        for (const { service: doneService, node: doneNode } of done.reverse()) await doneService.update!(previous, doneNode).catch(() => undefined);
        const failure = describeFailure(error);
        throw refusalOfKind(failure.kind, `account '${updated.username}' was not changed: its ${service.workload} on node '${node.alias}' refused: ${failure.message}`);
      }
    }
  }

  async setSuspended(principal: Principal, username: string, suspended: boolean): Promise<AccountView> {
    const account = await this.requireAccount(principal, username, 'owner');
    const target = { ...account, suspended };
    const done: { service: WorkloadService; node: NodeRow }[] = [];
    // The workloads are called even when the flag already has the value: that repairs a node that missed it.
    for (const service of this.workloads.registered()) {
      const node = await this.nodeOf(account, service.workload);
      try {
        await service.suspend(target, node, suspended);
        done.push({ service, node });
      } catch (error) {
        for (const { service: doneService, node: doneNode } of done.reverse()) await doneService.suspend(account, doneNode, account.suspended).catch(() => undefined);
        const failure = describeFailure(error);
        throw refusalOfKind(failure.kind, `account '${username}' was not ${suspended ? 'suspended' : 'unsuspended'}: its ${service.workload} on node '${node.alias}' refused: ${failure.message}`);
      }
    }
    await this.repo.update(account.id, { suspended });
    await this.auth.setSuspended(username, suspended);
    return this.show(principal, username);
  }

  /**
   * Removes the account's data from every node that holds a part of it, then the account. A node
   * that fails stops the termination with the account locked out and its remaining parts listed;
   * running terminate again finishes it (deprovisioning is idempotent).
   */
  async terminate(principal: Principal, username: string): Promise<TerminationReport> {
    const account = await this.requireAccount(principal, username, 'owner');
    if (await this.repo.reseller(username)) {
      const owned = await this.repo.usernamesOwnedBy(username);
      if (owned.length > 0) throw new ConflictError(`reseller '${username}' still owns ${owned.length} account(s): ${owned.join(', ')}; terminate them or give them to another owner first`, { accounts: owned });
    }
    await this.auth.setSuspended(username, true);
    for (const step of this.terminationSteps) await step(account);
    const removed: TerminationReport['removed'] = [];
    // The reverse of provisioning: DNS first, so the names stop pointing at what is being removed.
    const placements = (await this.repo.placements(account.id)).sort((a, b) => WORKLOADS.indexOf(b.workload) - WORKLOADS.indexOf(a.workload));
    for (const placement of placements) {
      const node = await this.nodeRows.byId(placement.nodeId);
      const service = this.workloads.get(placement.workload);
      if (node && service) {
        try {
          await service.deprovision(account, node);
        } catch (error) {
          const failure = describeFailure(error);
          throw refusalOfKind(failure.kind, `account '${username}' is only partly terminated: removing its ${placement.workload} from node '${node.alias}' failed: ${failure.message}; its logins are closed, run terminate again once the node answers`, { removed });
        }
      }
      await this.repo.removePlacement(account.id, placement.workload);
      removed.push({ workload: placement.workload, node: node?.alias ?? `#${placement.nodeId} (gone)` });
    }
    await this.repo.remove(account.id);
    await this.repo.removeReseller(username);
    await this.auth.removeLogin(username);
    return { username, removed };
  }
}
