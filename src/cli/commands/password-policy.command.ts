import type { Command } from 'commander';
import { table, type Cli } from '../cli-io.ts';
import type { PolicyView } from '../../passwords/password-policy.service.ts';
import { parseMinScore, parsePasswordKind } from '../../passwords/password-policy.model.ts';

const render = (view: PolicyView): string =>
  `${view.node ? `node ${view.node}` : 'parent'}\n` + table(['KIND', 'MIN SCORE', 'FROM'], view.kinds.map((k) => [k.kind, k.minScore, k.from]));

export function registerPasswordPolicyCommands(program: Command, cli: Cli): void {
  const policy = program.command('password-policy').description('minimum password strength (zxcvbn score 0-4) per kind: account, mail, mailinglist, ftp');

  policy
    .command('show')
    .description("the settings of a node (the parent's when no node is named)")
    .option('--node <alias>', 'a node')
    .action(async (options: { node?: string }) => {
      const query = options.node ? `?node=${encodeURIComponent(options.node)}` : '';
      cli.print(await cli.api<PolicyView>('GET', `/api/password-policy${query}`), render);
    });

  policy
    .command('set <kind> <minScore>')
    .description("set a minimum; a mail child's mail and mailinglist minimums apply to the accounts whose mail it holds")
    .option('--node <alias>', "a node (default: the parent's settings)")
    .action(async (kind: string, minScore: string, options: { node?: string }) => {
      const body = { node: options.node, kind: parsePasswordKind(kind), minScore: parseMinScore(minScore) };
      cli.print(await cli.api<PolicyView>('PUT', '/api/password-policy', body), render);
    });
}
