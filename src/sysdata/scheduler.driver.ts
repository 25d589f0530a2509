/**
 * Scheduled tasks of one node as a cron file in /etc/cron.d syntax (with the user column), kept in
 * the node's own root. Each task line follows a `# fleetpanel-id: <id>` line so the list reads
 * back with its ids; a line without one was made by hand and reads back as an unmanaged task.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { NodeLayout } from '../agent/node-layout.ts';
import { writeIfChanged } from '../core/files.ts';
import { sortById } from './digest.ts';
import { verifyApplied, type SystemDataDriver } from './driver.ts';
import { validateList, type ScheduledTask } from '../protocol/sysdata-items.ts';

const ID_MARKER = '# fleetpanel-id: ';

/** The cron file contents for a list of tasks. Pure. */
export function renderCronFile(tasks: readonly ScheduledTask[], nodeLabel: string): string {
  const lines = [
    `# Fleetpanel scheduler of node ${nodeLabel}. Written by the agent; hand edits are overwritten.`,
    'SHELL=/bin/sh',
    'PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin',
  ];
  for (const task of sortById(tasks)) {
    lines.push('', `${ID_MARKER}${task.id}`, `${task.schedule} ${task.user} ${task.command}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Parses a cron.d file back into tasks. Pure, exported for unit tests. */
export function parseCronFile(text: string): ScheduledTask[] {
  const tasks: ScheduledTask[] = [];
  let pendingId: string | undefined;
  text.split('\n').forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line.startsWith(ID_MARKER.trim())) {
      pendingId = line.slice(ID_MARKER.trim().length).trim();
      return;
    }
    if (line === '' || line.startsWith('#') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(line)) return;
    const id = pendingId ?? `unmanaged:line-${index + 1}`;
    pendingId = undefined;
    const tokens = line.split(/\s+/);
    const scheduleLength = tokens[0]!.startsWith('@') ? 1 : 5;
    const schedule = tokens.slice(0, scheduleLength).join(' ');
    const user = tokens[scheduleLength] ?? '';
    // The command is everything after the user column, with its own inner spacing kept.
    const afterUser = line.replace(new RegExp(`^(\\S+\\s+){${scheduleLength + 1}}`), '');
    tasks.push({ id, schedule, user, command: afterUser === line ? '' : afterUser });
  });
  return tasks;
}

export interface SchedulerDriverOptions {
  layout: NodeLayout;
  /** Shown in the file header so a person knows which node the file belongs to. */
  address: string;
}

export class SchedulerDriver implements SystemDataDriver<'scheduler'> {
  readonly type = 'scheduler' as const;

  constructor(private readonly options: SchedulerDriverOptions) {}

  get cronFilePath(): string {
    return this.options.layout.etc('cron.d', 'fleetpanel');
  }

  async apply(tasks: readonly ScheduledTask[]): Promise<void> {
    // Validated here as well: the renderer relies on the grammar to keep the file well-formed.
    const valid = validateList('scheduler', tasks);
    // cron refuses files in cron.d that are group or world writable.
    writeIfChanged(this.cronFilePath, renderCronFile(valid, this.options.address), 0o644);
    await verifyApplied(this, valid);
  }

  async read(): Promise<ScheduledTask[]> {
    if (!existsSync(this.cronFilePath)) return [];
    return parseCronFile(readFileSync(this.cronFilePath, 'utf8'));
  }
}
