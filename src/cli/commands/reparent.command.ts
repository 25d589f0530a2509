/**
 * `node reparent ALIAS --to URL --token-stdin [--via-dedistribution]`: the child moves to another parent as one job,
 * whose steps the command prints until it ends (or it returns at once with --no-wait).
 */
import type { Command } from 'commander';
import { readStdin, refusePlainCredentials, type Cli } from '../cli-io.ts';
import { ValidationError } from '../../core/errors.ts';
import type { JobView } from '../../jobs/index.ts';
import { followJob } from './distribution.command.ts';

export function registerReparentCommands(program: Command, cli: Cli): void {
  const node = program.commands.find((c) => c.name() === 'node') ?? program.command('node');
  node
    .command('reparent <alias>')
    .description("move a child to another parent: its accounts' records and zones go there, the child is handed over, their mail stays on it (admin)")
    .requiredOption('--to <url>', "the new parent's URL")
    .option('--token-stdin', "read one of the new parent's admin API tokens from standard input")
    .option('--via-dedistribution', "the reference's procedure instead: every account's mail back to this parent, unlink, transfer each account, the new parent links the child and moves the mail out to it again (copies every mailbox three times)")
    .option('--no-wait', 'return once the job is queued')
    .action(async (alias: string, options: { to: string; tokenStdin?: boolean; viaDedistribution?: boolean; wait: boolean }) => {
      if (!options.tokenStdin) throw new ValidationError('--token-stdin', "give one of the new parent's admin API tokens on standard input");
      const token = readStdin().trim();
      if (!token) throw new ValidationError('--token-stdin', 'standard input is empty');
      refusePlainCredentials(options.to, true);
      const { job } = await cli.api<{ job: JobView }>('POST', `/api/nodes/${encodeURIComponent(alias)}/reparent`, {
        to: options.to,
        token,
        ...(options.viaDedistribution ? { viaDedistribution: true } : {}),
      });
      if (!options.wait) {
        cli.print(job, (j: JobView) => `job ${j.id} (${j.type}) queued for ${j.key}; follow it with \`fleetpanel job watch ${j.id}\``);
        return;
      }
      if (!cli.json) process.stdout.write(`job ${job.id} (${job.type}) for ${job.key}\n`);
      await followJob(cli, job);
    });
}
