import type { Command } from 'commander';
import { table, type Cli } from '../cli-io.ts';
import { InternalError, ValidationError, refusalOfKind, type ErrorKind } from '../../core/errors.ts';
import { isSettled, type JobDetail, type JobEventView, type JobView } from '../../jobs/index.ts';

function eventLine(event: JobEventView): string {
  const time = event.at.slice(11, 19);
  return `${time}  ${event.step ? `[${event.step}] ` : ''}${event.message}`;
}

function jobLines(job: JobDetail): string {
  return [
    `job:       ${job.id} (${job.type})`,
    `key:       ${job.key}`,
    `state:     ${job.state}${job.currentStep ? ` at step ${job.currentStep}` : ''}${job.retryAt ? `, next try at ${job.retryAt}` : ''}${job.cancelRequested && !isSettled(job.state) ? ', cancel requested' : ''}`,
    `error:     ${job.error ?? '-'}`,
    `created:   ${job.createdAt}${job.createdBy ? ` by ${job.createdBy}` : ''}`,
    `finished:  ${job.finishedAt ?? '-'}`,
    '',
    table(
      ['#', 'STEP', 'STATE', 'TRIES', 'FINISHED', 'ERROR'],
      job.steps.map((s) => [s.position + 1, s.name, s.state, s.attempts, s.finishedAt, s.error]),
    ),
    '',
    ...job.events.map(eventLine),
  ].join('\n');
}

function parseJobId(text: string): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id < 1) throw new ValidationError('job', `'${text}' is not a job id`);
  return id;
}

export function registerJobCommands(program: Command, cli: Cli): void {
  const job = program.command('job').description('inspect, watch, cancel and retry durable jobs');

  job
    .command('list')
    .description('jobs, newest first')
    .option('--key <key>', 'only jobs of this key, e.g. account:alice')
    .option('--state <state>', 'only jobs in this state (queued, running, held, failed, …)')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (options: { key?: string; state?: string; limit: string }) => {
      const query = new URLSearchParams({ limit: options.limit });
      if (options.key) query.set('key', options.key);
      if (options.state) query.set('state', options.state);
      const { jobs } = await cli.api<{ jobs: JobView[] }>('GET', `/api/jobs?${query.toString()}`);
      cli.print(jobs, (list: JobView[]) =>
        table(
          ['ID', 'TYPE', 'KEY', 'STATE', 'STEP', 'UPDATED', 'ERROR'],
          list.map((j) => [j.id, j.type, j.key, j.state, j.currentStep, j.updatedAt, j.error?.split('\n')[0]]),
        ),
      );
    });

  job
    .command('show <id>')
    .description('one job with its steps and events')
    .action(async (id: string) => {
      cli.print(await cli.api<JobDetail>('GET', `/api/jobs/${parseJobId(id)}`), jobLines);
    });

  job
    .command('watch <id>')
    .description('print progress until the job ends; exits 0 on success, else with the code of its error')
    .option('--timeout <seconds>', 'give up watching after this long (the job goes on)', '86400')
    .action(async (idText: string, options: { timeout: string }) => {
      const id = parseJobId(idText);
      const deadline = Date.now() + Number(options.timeout) * 1000;
      let after = 0;
      for (;;) {
        const page = await cli.api<{ job: JobView; events: JobEventView[] }>('GET', `/api/jobs/${id}/events?after=${after}&waitMs=10000`);
        for (const event of page.events) {
          process.stdout.write(cli.json ? JSON.stringify(event) + '\n' : eventLine(event) + '\n');
          after = event.id;
        }
        // Drain every event before deciding, so the last lines are never cut off.
        if (page.events.length > 0) continue;
        if (isSettled(page.job.state)) {
          if (page.job.state === 'succeeded') return;
          const kind: ErrorKind = page.job.errorKind ?? 'internal';
          throw refusalOfKind(kind, `job ${id} ${page.job.state.replace('_', ' ')}: ${page.job.error ?? 'no error recorded'}`);
        }
        if (Date.now() > deadline) throw new InternalError(`job ${id} is still ${page.job.state}; stopped watching after ${options.timeout} s`);
      }
    });

  job
    .command('cancel <id>')
    .description('stop a job and undo its done steps (admin)')
    .action(async (id: string) => {
      cli.print(await cli.api<JobView>('POST', `/api/jobs/${parseJobId(id)}/cancel`), (j: JobView) => `job ${j.id}: ${j.state}${j.cancelRequested ? ' (cancel requested)' : ''}`);
    });

  job
    .command('retry <id>')
    .description('retry a held job (its failed step) or a failed one (its undo) (admin)')
    .action(async (id: string) => {
      cli.print(await cli.api<JobView>('POST', `/api/jobs/${parseJobId(id)}/retry`), (j: JobView) => `job ${j.id}: ${j.state}`);
    });
}
