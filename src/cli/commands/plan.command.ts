import type { Command } from 'commander';
import { table, type Cli } from '../cli-io.ts';
import { ValidationError } from '../../core/errors.ts';
import type { PlanView } from '../../accounts/plans.service.ts';

function planLines(plan: PlanView): string {
  return [
    `plan:      ${plan.name}${plan.isDefault ? ' (default)' : ''}`,
    `disk:      ${plan.diskMb} MB`,
    `mailboxes: ${plan.mailboxes}`,
    `domains:   ${plan.domains}`,
    `accounts:  ${plan.accounts}`,
  ].join('\n');
}

function count(value: string, field: string): number {
  if (!/^[0-9]{1,8}$/.test(value)) throw new ValidationError(field, 'must be a whole number');
  return Number(value);
}

export function registerPlanCommands(program: Command, cli: Cli): void {
  const plan = program.command('plan').description('plans: the quotas accounts are created with');

  plan
    .command('add <name>')
    .description('add a plan')
    .requiredOption('--disk-mb <n>', 'disk quota in MB')
    .requiredOption('--mailboxes <n>', 'how many mailboxes')
    .requiredOption('--domains <n>', 'how many domains')
    .action(async (name: string, options: { diskMb: string; mailboxes: string; domains: string }) => {
      const body = { name, diskMb: count(options.diskMb, 'diskMb'), mailboxes: count(options.mailboxes, 'mailboxes'), domains: count(options.domains, 'domains') };
      cli.print(await cli.api<PlanView>('POST', '/api/plans', body), planLines);
    });

  plan
    .command('list')
    .description('all plans')
    .action(async () => {
      const { plans } = await cli.api<{ plans: PlanView[] }>('GET', '/api/plans');
      cli.print(plans, (list: PlanView[]) =>
        table(['PLAN', 'DISK MB', 'MAILBOXES', 'DOMAINS', 'ACCOUNTS'], list.map((p) => [p.name + (p.isDefault ? '*' : ''), p.diskMb, p.mailboxes, p.domains, p.accounts])),
      );
    });

  plan
    .command('show <name>')
    .description('one plan')
    .action(async (name: string) => {
      cli.print(await cli.api<PlanView>('GET', `/api/plans/${encodeURIComponent(name)}`), planLines);
    });
}
