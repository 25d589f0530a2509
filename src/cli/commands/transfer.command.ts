/**
 * `fleetpanel account transfer USER --to PARENT_URL --token-stdin [--mail-node ALIAS|local]`:
 * queues the transfer on this parent (which checks the target first) and draws its progress, one
 * step of the job after another, until it ends (or returns at once with --no-wait).
 */
import type { Command } from 'commander';
import { readStdin, type Cli } from '../cli-io.ts';
import { ValidationError, refusalOfKind, type ErrorKind } from '../../core/errors.ts';
import { isSettled, type JobDetail, type JobView } from '../../jobs/index.ts';

const BAR_WIDTH = 24;

/** One line: a bar of done steps, the step under way and its last progress message. */
export function progressLine(job: JobDetail): string {
  const total = job.steps.length;
  const done = job.steps.filter((s) => s.state === 'done').length;
  const filled = total === 0 ? 0 : Math.round((done / total) * BAR_WIDTH);
  const last = job.events.at(-1);
  const step = job.currentStep ?? (isSettled(job.state) ? job.state : 'queued');
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${done}/${total} ${step}${last ? `: ${last.message}` : ''}`;
}

async function followWithBar(cli: Cli, id: number): Promise<void> {
  const tty = process.stderr.isTTY === true;
  let shown = '';
  for (;;) {
    const job = await cli.api<JobDetail>('GET', `/api/jobs/${id}`);
    const line = progressLine(job);
    if (line !== shown) {
      if (cli.json) process.stdout.write(`${JSON.stringify({ id, state: job.state, step: job.currentStep, done: job.steps.filter((s) => s.state === 'done').length, steps: job.steps.length })}\n`);
      else if (tty) process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
      else process.stderr.write(`${line}\n`);
      shown = line;
    }
    if (isSettled(job.state)) {
      if (tty && !cli.json) process.stderr.write('\n');
      if (job.state === 'succeeded') return;
      const kind: ErrorKind = job.errorKind ?? 'internal';
      throw refusalOfKind(kind, `job ${id} ${job.state.replace('_', ' ')}: ${job.error ?? 'no error recorded'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export function registerTransferCommands(program: Command, cli: Cli): void {
  const account = program.commands.find((c) => c.name() === 'account') ?? program.command('account');
  account
    .command('transfer <username>')
    .description("move the account to another parent/child pair: records, mail, site and zone, as a job with progress (admin)")
    .requiredOption('--to <url>', "the target parent's URL, e.g. http://127.0.20.1:8080")
    .option('--token-stdin', "read one of the target parent's admin API tokens from standard input (required)")
    .option('--mail-node <alias>', "the target's mail child for the account, or 'local' (default: the target's own node)")
    .option('--no-wait', 'return once the job is queued')
    .action(async (username: string, options: { to: string; tokenStdin?: boolean; mailNode?: string; wait: boolean }) => {
      if (!options.tokenStdin) throw new ValidationError('token', "give one of the target parent's admin API tokens with --token-stdin");
      const token = readStdin().trim();
      if (!token) throw new ValidationError('token', 'standard input was empty');
      const { job } = await cli.api<{ job: JobView }>('POST', `/api/accounts/${encodeURIComponent(username)}/transfer`, {
        to: options.to,
        token,
        ...(options.mailNode ? { mailNode: options.mailNode } : {}),
      });
      if (!options.wait) {
        cli.print(job, (j: JobView) => `job ${j.id} (${j.type}) queued for ${j.key}; follow it with \`fleetpanel job watch ${j.id}\``);
        return;
      }
      if (!cli.json) process.stderr.write(`job ${job.id}: transferring ${username} to ${options.to}\n`);
      await followWithBar(cli, job.id);
      if (!cli.json) process.stdout.write(`${username} is on ${options.to} now; nothing of it is left here\n`);
    });
}
