/**
 * Mail distribution in the CLI: `node accounts|cleanup|force-dedistribute` join the `node`
 * group, and `account modify --mail-node` calls `moveMail` here. A move is a job: the command
 * prints its progress until it ends (or returns at once with --no-wait).
 */
import type { Command } from 'commander';
import { table, type Cli } from '../cli-io.ts';
import { ValidationError, refusalOfKind, type ErrorKind } from '../../core/errors.ts';
import { isSettled, type JobEventView, type JobView } from '../../jobs/index.ts';
import { parseGrace } from '../../distribution/distribution-rules.ts';
import type { ForcedDedistributionReport, NodeAccountsView } from '../../distribution/distribution.service.ts';

export interface MoveMailOptions {
  mailNode: string;
  dropPipeForwarders?: boolean;
  grace?: string;
  wait?: boolean;
}

/** Prints the job's events until it settles; throws with the job's error kind unless it succeeded. */
export async function followJob(cli: Cli, job: JobView): Promise<void> {
  let after = 0;
  for (;;) {
    const page = await cli.api<{ job: JobView; events: JobEventView[] }>('GET', `/api/jobs/${job.id}/events?after=${after}&waitMs=10000`);
    for (const event of page.events) {
      process.stdout.write(cli.json ? `${JSON.stringify(event)}\n` : `${event.at.slice(11, 19)}  ${event.step ? `[${event.step}] ` : ''}${event.message}\n`);
      after = event.id;
    }
    if (page.events.length > 0) continue;
    if (isSettled(page.job.state)) {
      if (page.job.state === 'succeeded') return;
      const kind: ErrorKind = page.job.errorKind ?? 'internal';
      throw refusalOfKind(kind, `job ${job.id} ${page.job.state.replace('_', ' ')}: ${page.job.error ?? 'no error recorded'}`);
    }
  }
}

async function enqueueAndFollow(cli: Cli, path: string, body: unknown, wait: boolean): Promise<void> {
  const { job } = await cli.api<{ job: JobView }>('POST', path, body);
  if (!wait) {
    cli.print(job, (j: JobView) => `job ${j.id} (${j.type}) queued for ${j.key}; follow it with \`fleetpanel job watch ${j.id}\``);
    return;
  }
  if (!cli.json) process.stdout.write(`job ${job.id} (${job.type}) for ${job.key}\n`);
  await followJob(cli, job);
}

/** `account modify USER --mail-node ALIAS|local`. */
export async function moveMail(cli: Cli, username: string, options: MoveMailOptions): Promise<void> {
  const body = {
    mailNode: options.mailNode,
    ...(options.dropPipeForwarders ? { dropPipeForwarders: true } : {}),
    ...(options.grace !== undefined ? { graceSeconds: parseGrace(options.grace) } : {}),
  };
  await enqueueAndFollow(cli, `/api/accounts/${encodeURIComponent(username)}/mail-node`, body, options.wait !== false);
}

function nodeAccountsLines(view: NodeAccountsView): string {
  const accounts = table(
    ['USER', 'DOMAIN', 'OWNER', 'STATE', 'GRACE UNTIL'],
    view.accounts.map((a) => [a.username, a.domain, a.owner, a.state, a.graceUntil]),
  );
  if (view.revocations.length === 0) return accounts;
  return `${accounts}\n\nrevoked by forced dedistribution:\n${table(['USER', 'RECORDED', 'APPLIED'], view.revocations.map((r) => [r.username, r.recordedAt, r.applied ? 'yes' : 'not yet']))}`;
}

function forcedReportLines(report: ForcedDedistributionReport): string {
  const lines: string[] = report.abandonedJobs.map((id) => `job ${id} (a move of one of these accounts) was abandoned, not undone`);
  for (const account of report.accounts) {
    lines.push(`${account.username}: served by the parent now; credentials on ${report.node}: ${account.revoked}`);
    for (const mailbox of account.mailboxes) {
      const lost = mailbox.lastKnownMessages === null ? 'unknown' : `${mailbox.lostGuids.length} of ${mailbox.lastKnownMessages} lost`;
      lines.push(`  ${mailbox.address}: ${lost} (last digest ${mailbox.lastKnownAt ?? 'never'}, ${mailbox.messagesOnParent} on the parent)`);
      for (const guid of mailbox.lostGuids) lines.push(`    lost ${guid}`);
    }
  }
  return lines.join('\n');
}

export function registerDistributionCommands(program: Command, cli: Cli): void {
  const node = program.commands.find((c) => c.name() === 'node') ?? program.command('node');

  node
    .command('accounts <alias>')
    .description('accounts whose mail the node serves (distributed) or of which it keeps a copy (admin)')
    .action(async (alias: string) => {
      cli.print(await cli.api<NodeAccountsView>('GET', `/api/nodes/${encodeURIComponent(alias)}/distributed-accounts`), nodeAccountsLines);
    });

  node
    .command('cleanup <alias> <username>')
    .description("remove the copy a node keeps after an account's mail moved back, before the grace period ends (admin)")
    .option('--no-wait', 'return once the job is queued')
    .action(async (alias: string, username: string, options: { wait: boolean }) => {
      await enqueueAndFollow(cli, `/api/nodes/${encodeURIComponent(alias)}/distributed-accounts/${encodeURIComponent(username)}/cleanup`, undefined, options.wait);
    });

  node
    .command('force-dedistribute <alias> <usernames...>')
    .description("serve the accounts from the parent at once, revoke the child's credentials for them, report the mail lost (admin)")
    .option('--accept-data-loss', 'confirm that mail only the child holds is lost')
    .action(async (alias: string, usernames: string[], options: { acceptDataLoss?: boolean }) => {
      if (!options.acceptDataLoss) throw new ValidationError('acceptDataLoss', 'forced dedistribution loses the mail only the child holds; confirm with --accept-data-loss');
      const report = await cli.api<ForcedDedistributionReport>('POST', `/api/nodes/${encodeURIComponent(alias)}/force-dedistribute`, { usernames, acceptDataLoss: true });
      cli.print(report, forcedReportLines);
    });
}
