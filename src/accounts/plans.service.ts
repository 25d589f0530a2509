/** Plans: named quotas (disk, mailboxes, domains) that accounts are created with. */
import { ConflictError, NotFoundError } from '../core/errors.ts';
import { assertValid } from '../core/grammar.ts';
import { checkPlanName, parseQuota, type Plan } from './account.model.ts';
import type { AccountsRepository } from './accounts.repository.ts';

export interface PlanView extends Omit<Plan, 'id'> {
  accounts: number;
}

export class PlansService {
  constructor(private readonly repo: AccountsRepository) {}

  async add(input: { name: string; diskMb: unknown; mailboxes: unknown; domains: unknown }): Promise<PlanView> {
    const name = assertValid('name', input.name, checkPlanName);
    const plan = { name, diskMb: parseQuota('diskMb', input.diskMb), mailboxes: parseQuota('mailboxes', input.mailboxes), domains: parseQuota('domains', input.domains) };
    if (await this.repo.planByName(name)) throw new ConflictError(`a plan named '${name}' already exists`);
    await this.repo.insertPlan(plan);
    return this.show(name);
  }

  async list(): Promise<PlanView[]> {
    const counts = await this.repo.accountCountByPlan();
    return (await this.repo.plans()).map(({ id, ...plan }) => ({ ...plan, accounts: counts.get(id) ?? 0 }));
  }

  async show(name: string): Promise<PlanView> {
    const plan = (await this.list()).find((p) => p.name === name);
    if (!plan) throw new NotFoundError('plan', name);
    return plan;
  }
}
