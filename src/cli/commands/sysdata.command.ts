import type { Command } from 'commander';
import { table, type Cli } from '../cli-io.ts';
import { ValidationError } from '../../core/errors.ts';
import { SYSTEM_DATA_TYPES, type SystemDataType } from '../../protocol/sysdata-items.ts';
import type { ChangeResult, ListView, TypeSyncStatus } from '../../sysdata/sysdata.service.ts';

interface AddOption {
  flag: string;
  key: string;
  description: string;
  required: boolean;
}

const ACCESS_OPTIONS: AddOption[] = [
  { flag: '--sender <address>', key: 'sender', description: "a sender address, or '@domain' for all its senders", required: false },
  { flag: '--network <cidr>', key: 'network', description: 'a client IPv4 network or address', required: false },
];

const ADD_OPTIONS: Record<SystemDataType, AddOption[]> = {
  firewall: [
    { flag: '--action <action>', key: 'action', description: 'allow or deny', required: true },
    { flag: '--protocol <protocol>', key: 'protocol', description: 'tcp or udp', required: true },
    { flag: '--port <port>', key: 'port', description: "a port, or a range 'first-last'", required: true },
    { flag: '--source <network>', key: 'source', description: "IPv4 source network ('0.0.0.0/0' for every source)", required: true },
    { flag: '--comment <text>', key: 'comment', description: 'a note shown with the rule', required: false },
  ],
  scheduler: [
    { flag: '--schedule <cron>', key: 'schedule', description: "five cron fields ('*/5 * * * *') or @hourly, @daily, …", required: true },
    { flag: '--command <command>', key: 'command', description: 'the command line cron runs', required: true },
    { flag: '--user <user>', key: 'user', description: 'the unix user it runs as', required: true },
  ],
  whitelist: ACCESS_OPTIONS,
  blacklist: ACCESS_OPTIONS,
};

function describeItem(type: SystemDataType, item: Record<string, unknown>): string[] {
  switch (type) {
    case 'firewall':
      return [String(item.id), String(item.action), String(item.protocol), String(item.port), String(item.source), String(item.comment ?? '')];
    case 'scheduler':
      return [String(item.id), String(item.schedule), String(item.user), String(item.command)];
    default:
      return [String(item.id), String(item.kind), String(item.value)];
  }
}

const LIST_HEADERS: Record<SystemDataType, string[]> = {
  firewall: ['ID', 'ACTION', 'PROTOCOL', 'PORT', 'SOURCE', 'COMMENT'],
  scheduler: ['ID', 'SCHEDULE', 'USER', 'COMMAND'],
  whitelist: ['ID', 'KIND', 'VALUE'],
  blacklist: ['ID', 'KIND', 'VALUE'],
};

/** Turns the command-line options into the item the API takes. */
function itemFromOptions(type: SystemDataType, options: Record<string, string | undefined>): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  if (options.id !== undefined) item.id = options.id;
  if (type === 'whitelist' || type === 'blacklist') {
    if ((options.sender === undefined) === (options.network === undefined)) throw new ValidationError({ message: 'give exactly one of --sender and --network' });
    return options.sender !== undefined ? { ...item, kind: 'sender', value: options.sender } : { ...item, kind: 'network', value: options.network };
  }
  for (const option of ADD_OPTIONS[type]) {
    const value = options[option.key];
    if (value === undefined) continue;
    item[option.key] = option.key === 'port' && /^[0-9]+$/.test(value) ? Number(value) : value;
  }
  return item;
}

function changeLine(verb: string, result: ChangeResult): string {
  const desynced = result.desynced.length === 0 ? '' : `; de-synced until they are ready: ${result.desynced.join(', ')}`;
  return `${verb}; applied on ${result.applied.length} node(s)${result.applied.length > 0 ? ` (${result.applied.join(', ')})` : ''}${desynced}`;
}

function statusTable(types: TypeSyncStatus[]): string {
  const rows = types.flatMap((t) =>
    t.nodes.length === 0
      ? [[t.type, '-', '-', 'no target node', '-', '-']]
      : t.nodes.map((n) => [t.type, n.node, n.nodeStatus, n.inSync ? 'in sync' : 'DE-SYNCED', n.since, n.reason]),
  );
  return table(['TYPE', 'NODE', 'NODE STATUS', 'STATE', 'SINCE', 'REASON'], rows);
}

export function registerSysdataCommands(program: Command, cli: Cli): void {
  const sysdata = program.command('sysdata').description('system data kept identical on every node: firewall, scheduler, mail whitelist and blacklist');

  for (const type of SYSTEM_DATA_TYPES) {
    const group = sysdata.command(type).description(`the ${type} list of every ${type === 'whitelist' || type === 'blacklist' ? 'mail node' : 'node'}`);

    group
      .command('list')
      .description(`the parent's ${type} list`)
      .action(async () => {
        const list = await cli.api<ListView>('GET', `/api/sysdata/${type}`);
        cli.print(list, (l: ListView) =>
          l.items.length === 0 ? `the ${type} list is empty` : table(LIST_HEADERS[type], l.items.map((item) => describeItem(type, item as unknown as Record<string, unknown>))),
        );
      });

    const add = group.command('add').description(`add a ${type} item on every ready target node at once`).option('--id <id>', 'the item id (generated when left out)');
    for (const option of ADD_OPTIONS[type]) {
      if (option.required) add.requiredOption(option.flag, option.description);
      else add.option(option.flag, option.description);
    }
    add.action(async (options: Record<string, string | undefined>) => {
      const result = await cli.api<ChangeResult & { item: { id: string } }>('POST', `/api/sysdata/${type}`, itemFromOptions(type, options));
      cli.print(result, (r: ChangeResult & { item: { id: string } }) => changeLine(`added ${type} ${r.item.id}`, r));
    });

    group
      .command('remove <id>')
      .description(`remove a ${type} item from every ready target node at once`)
      .action(async (id: string) => {
        const result = await cli.api<ChangeResult>('DELETE', `/api/sysdata/${type}/${encodeURIComponent(id)}`);
        cli.print(result, (r: ChangeResult) => changeLine(`removed ${type} ${id}`, r));
      });
  }

  sysdata
    .command('policy [type] [percent]')
    .description('show the readiness policy, or set the share of target nodes (percent) that must be ready for a change of TYPE')
    .action(async (type: string | undefined, percent: string | undefined) => {
      if (type === undefined) {
        const { policy } = await cli.api<{ policy: Record<string, number> }>('GET', '/api/sysdata/policy');
        cli.print(policy, (p: Record<string, number>) => table(['TYPE', 'MORE THAN (%) READY'], Object.entries(p)));
        return;
      }
      if (!(SYSTEM_DATA_TYPES as readonly string[]).includes(type)) throw new ValidationError('type', `must be one of ${SYSTEM_DATA_TYPES.join(', ')}`);
      if (percent === undefined || !/^[0-9]{1,2}$/.test(percent)) throw new ValidationError('percent', 'must be a whole number from 0 to 99');
      const { policy } = await cli.api<{ policy: Record<string, number> }>('PUT', `/api/sysdata/policy/${type}`, { percent: Number(percent) });
      cli.print(policy, (p: Record<string, number>) => `${type}: a change needs more than ${p[type]}% of its target nodes ready`);
    });

  sysdata
    .command('status')
    .description('per type and node: in sync, or de-synced since when and why')
    .action(async () => {
      const { types } = await cli.api<{ types: TypeSyncStatus[] }>('GET', '/api/sysdata/status');
      cli.print(types, statusTable);
    });

  sysdata
    .command('check')
    .description("compare every ready node's digests with the parent's now and repair drift")
    .action(async () => {
      const result = await cli.api<{ outcomes: { type: string; node: string; result: string }[] }>('POST', '/api/sysdata/check');
      cli.print(result.outcomes, (o: { type: string; node: string; result: string }[]) => table(['TYPE', 'NODE', 'RESULT'], o.map((x) => [x.type, x.node, x.result])));
    });
}
