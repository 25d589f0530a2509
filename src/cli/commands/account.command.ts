import type { Command } from 'commander';
import { readStdin, table, type Cli } from '../cli-io.ts';
import { ValidationError } from '../../core/errors.ts';
import type { AccountView } from '../../accounts/account.model.ts';
import { moveMail } from './distribution.command.ts';
import type { TerminationReport } from '../../accounts/accounts.service.ts';

function accountLines(account: AccountView): string {
  return [
    `user:       ${account.username}${account.reseller ? ' (reseller)' : ''}`,
    `domain:     ${account.domain}`,
    `plan:       ${account.plan}`,
    `owner:      ${account.owner}`,
    `ipv6:       ${account.ipv6 ? 'on' : 'off'}`,
    `suspended:  ${account.suspended ? 'yes' : 'no'}`,
    `mail node:  ${account.mailNode ?? 'parent'}`,
    `placements: ${account.placements.map((p) => `${p.workload}@${p.node}`).join(', ') || '-'}`,
    `created:    ${account.createdAt}`,
  ].join('\n');
}

/** The password comes from standard input only: a command line is visible to every user of the machine. */
function passwordFromStdin(given: boolean | undefined): string | undefined {
  if (!given) return undefined;
  const password = readStdin();
  if (!password) throw new ValidationError('password', 'standard input is empty');
  return password;
}

function parseOnOff(value: string, field: string): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new ValidationError(field, 'must be on or off');
}

const path = (username: string): string => `/api/accounts/${encodeURIComponent(username)}`;

export function registerAccountCommands(program: Command, cli: Cli): void {
  const account = program.command('account').description('hosting accounts: create, change, suspend, terminate');

  account
    .command('create [username]')
    .description('create an account; its mail, web and DNS are placed on nodes and set up, or nothing is created')
    .option('--domain <domain>', 'the main domain (unique across the cluster)')
    .option('--password-stdin', 'read the panel password from standard input (required)')
    .option('--owner <reseller>', 'the reseller that owns the account (admin only; default: you)')
    .option('--plan <plan>', 'plan name (default: the default plan)')
    .option('--ipv6', 'enable IPv6 (AAAA records)')
    .option('--mail-node <alias>', "put the account's mail on this node ('local' for the parent's own)")
    .option('--from-file <file>', 'create many: a .csv file with a header line (username,domain,password,plan,owner,ipv6,mailNode) or a .jsonl file; bad rows are refused and reported, good ones created')
    .option('--in-flight <n>', 'with --from-file: creations sent at once', '16')
    .action(async (username: string | undefined, options: { domain?: string; passwordStdin?: boolean; owner?: string; plan?: string; ipv6?: boolean; mailNode?: string; fromFile?: string; inFlight: string }) => {
      if (options.fromFile !== undefined) {
        if (username !== undefined || options.domain !== undefined) throw new ValidationError('--from-file', 'the accounts come from the file; give no username or --domain');
        const inFlight = Number(options.inFlight);
        if (!Number.isInteger(inFlight) || inFlight < 1 || inFlight > 64) throw new ValidationError('--in-flight', 'must be a whole number from 1 to 64');
        const { createAccountsFromFile } = await import('../bulk-create.ts');
        await createAccountsFromFile(cli, options.fromFile, inFlight);
        return;
      }
      if (username === undefined) throw new ValidationError('username', 'is required (or give --from-file)');
      if (options.domain === undefined) throw new ValidationError({ message: "domain: is required (--domain)" });
      const password = passwordFromStdin(options.passwordStdin);
      if (password === undefined) throw new ValidationError('password', 'give it with --password-stdin');
      const created = await cli.api<AccountView>('POST', '/api/accounts', {
        username,
        domain: options.domain,
        password,
        owner: options.owner,
        plan: options.plan,
        ipv6: options.ipv6 ?? false,
        mailNode: options.mailNode,
      });
      cli.print(created, accountLines);
    });

  account
    .command('modify <username>')
    .description('change plan, IPv6, password or owner')
    .option('--plan <plan>', 'new plan')
    .option('--ipv6 <on|off>', 'turn IPv6 on or off')
    .option('--password-stdin', 'read a new password from standard input')
    .option('--owner <owner>', "'admin' or a reseller (admin only)")
    .option('--mail-node <alias>', "move the account's mail to this child node, or back with 'local' (admin; runs a job)")
    .option('--drop-pipe-forwarders', 'with --mail-node: remove pipe-to-program forwarders, which a distributed account cannot have')
    .option('--grace <duration>', "with --mail-node local: how long the child keeps routing to the parent (default 7d)")
    .option('--no-wait', 'with --mail-node: return once the job is queued')
    .action(async (username: string, options: { plan?: string; ipv6?: string; passwordStdin?: boolean; owner?: string; mailNode?: string; dropPipeForwarders?: boolean; grace?: string; wait: boolean }) => {
      // A mail move is a job of its own; the other changes are applied first, in one request.
      const otherChanges = options.plan !== undefined || options.ipv6 !== undefined || options.passwordStdin || options.owner !== undefined;
      if (options.mailNode !== undefined && !otherChanges) {
        await moveMail(cli, username, { mailNode: options.mailNode, dropPipeForwarders: options.dropPipeForwarders, grace: options.grace, wait: options.wait });
        return;
      }
      const changes = {
        plan: options.plan,
        ipv6: options.ipv6 === undefined ? undefined : parseOnOff(options.ipv6, 'ipv6'),
        password: passwordFromStdin(options.passwordStdin),
        owner: options.owner,
      };
      cli.print(await cli.api<AccountView>('PUT', path(username), changes), accountLines);
      if (options.mailNode !== undefined) await moveMail(cli, username, { mailNode: options.mailNode, dropPipeForwarders: options.dropPipeForwarders, grace: options.grace, wait: options.wait });
    });

  for (const [name, description] of [
    ['suspend', 'refuse its logins and show the suspension page, on every node that holds a part of it'],
    ['unsuspend', 'restore a suspended account'],
  ] as const) {
    account
      .command(`${name} <username>`)
      .description(description)
      .action(async (username: string) => {
        cli.print(await cli.api<AccountView>('POST', `${path(username)}/${name}`, {}), accountLines);
      });
  }

  account
    .command('terminate <username>')
    .description("remove the account's data from every node that holds a part of it, then the account")
    .action(async (username: string) => {
      const report = await cli.api<TerminationReport>('DELETE', path(username));
      cli.print(report, (r: TerminationReport) => `terminated ${r.username}; removed ${r.removed.map((p) => `${p.workload} from ${p.node}`).join(', ') || 'nothing'}`);
    });

  account
    .command('list')
    .description('the accounts you may see')
    .action(async () => {
      const { accounts } = await cli.api<{ accounts: AccountView[] }>('GET', '/api/accounts');
      cli.print(accounts, (list: AccountView[]) =>
        table(
          ['USER', 'DOMAIN', 'PLAN', 'OWNER', 'MAIL NODE', 'STATE'],
          list.map((a) => [a.username + (a.reseller ? '*' : ''), a.domain, a.plan, a.owner, a.mailNode ?? 'parent', a.suspended ? 'suspended' : 'active']),
        ),
      );
    });

  account
    .command('show <username>')
    .description('one account in detail, with a warning when its certificate expires soon and renewal is failing')
    .action(async (username: string) => {
      const account = await cli.api<AccountView>('GET', path(username));
      const certificate = await cli.api<{ warning: string | null } | null>('GET', `${path(username)}/ssl`);
      const shown = { ...account, certificateWarning: certificate?.warning ?? null };
      cli.print(shown, (a: AccountView & { certificateWarning: string | null }) => `${accountLines(a)}${a.certificateWarning ? `\nWARNING: ${a.certificateWarning}` : ''}`);
    });
}
