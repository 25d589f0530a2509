import type { Command } from 'commander';
import { table, type Cli } from '../cli-io.ts';
import { ValidationError } from '../../core/errors.ts';
import type { ResellerView } from '../../accounts/resellers.service.ts';

const describe = (r: ResellerView): string => `reseller ${r.username}: ${r.accounts} account(s), limit ${r.maxAccounts ?? 'none'}`;

export function registerResellerCommands(program: Command, cli: Cli): void {
  const reseller = program.command('reseller').description('reseller privileges on accounts');

  reseller
    .command('grant <username>')
    .description('grant reseller privileges on an account, or change its limit')
    .option('--max-accounts <n>', 'how many accounts it may own (default: no limit)')
    .action(async (username: string, options: { maxAccounts?: string }) => {
      if (options.maxAccounts !== undefined && !/^[0-9]{1,8}$/.test(options.maxAccounts)) throw new ValidationError('maxAccounts', 'must be a whole number');
      const body = { maxAccounts: options.maxAccounts === undefined ? null : Number(options.maxAccounts) };
      cli.print(await cli.api<ResellerView>('PUT', `/api/resellers/${encodeURIComponent(username)}`, body), describe);
    });

  reseller
    .command('withdraw <username>')
    .description('withdraw reseller privileges (it must own no accounts)')
    .action(async (username: string) => {
      cli.print(await cli.api('DELETE', `/api/resellers/${encodeURIComponent(username)}`), () => `${username} is no longer a reseller`);
    });

  reseller
    .command('list')
    .description('all resellers with their limits')
    .action(async () => {
      const { resellers } = await cli.api<{ resellers: ResellerView[] }>('GET', '/api/resellers');
      cli.print(resellers, (list: ResellerView[]) => table(['RESELLER', 'ACCOUNTS', 'MAX'], list.map((r) => [r.username, r.accounts, r.maxAccounts ?? 'none'])));
    });

  reseller
    .command('show <username>')
    .description('one reseller (a reseller may show itself)')
    .action(async (username: string) => {
      cli.print(await cli.api<ResellerView>('GET', `/api/resellers/${encodeURIComponent(username)}`), describe);
    });
}
