import type { Command } from 'commander';
import { table, type Cli } from '../cli-io.ts';
import type { RecordView, ZoneView } from '../../dns/dns.service.ts';

const recordsPath = (username: string): string => `/api/accounts/${encodeURIComponent(username)}/dns/records`;

/** A TTL that is not a number is sent as given, so the API names the field in its refusal. */
const ttlValue = (text: string | undefined): number | string | undefined => (text === undefined ? undefined : /^[0-9]{1,10}$/.test(text) ? Number(text) : text);

const recordLine = (r: RecordView): string => `${r.id ?? '-'}  ${r.name} ${r.ttl} ${r.type} ${r.content}`;

export function registerDnsCommands(program: Command, cli: Cli): void {
  const dns = program.command('dns').description("an account's DNS zone and the nodes' IPv6 addresses");
  const record = dns.command('record').description('records users add to their zone (the site, mail and name-server records are managed)');

  record
    .command('list <username>')
    .description("the account's zone as its DNS node serves it now")
    .action(async (username: string) => {
      const zone = await cli.api<ZoneView>('GET', recordsPath(username));
      cli.print(zone, (z: ZoneView) =>
        [
          `zone ${z.domain} (from node ${z.proxiedFrom})`,
          table(
            ['ID', 'NAME', 'TTL', 'TYPE', 'CONTENT'],
            z.records.map((r) => [r.managed ? 'managed' : r.id, r.name, r.ttl, r.type, r.content]),
          ),
        ].join('\n'),
      );
    });

  record
    .command('add <username> <name> <type> <content>')
    .description("add a record: NAME is '@', a name inside the zone or one relative to it; MX content is '<priority> <host>'")
    .option('--ttl <seconds>', 'time to live (default 3600)')
    .action(async (username: string, name: string, type: string, content: string, options: { ttl?: string }) => {
      const added = await cli.api<{ proxiedFrom: string; record: RecordView }>('POST', recordsPath(username), { name, type, content, ttl: ttlValue(options.ttl) });
      cli.print(added, (a: { proxiedFrom: string; record: RecordView }) => `added on node ${a.proxiedFrom}: ${recordLine(a.record)}`);
    });

  record
    .command('remove <username> <id>')
    .description('remove a record you added, by the id `dns record list` shows')
    .action(async (username: string, id: string) => {
      const removed = await cli.api<{ proxiedFrom: string; removed: RecordView }>('DELETE', `${recordsPath(username)}/${encodeURIComponent(id)}`);
      cli.print(removed, (r: { proxiedFrom: string; removed: RecordView }) => `removed on node ${r.proxiedFrom}: ${r.removed.name} ${r.removed.type} ${r.removed.content}`);
    });

  dns
    .command('node-ipv6 <alias> <address>')
    .description("set a node's IPv6 address for the AAAA records of IPv6-enabled accounts it serves ('none' clears it; admin only)")
    .action(async (alias: string, address: string) => {
      const result = await cli.api<{ alias: string; ipv6: string | null }>('PUT', `/api/dns/nodes/${encodeURIComponent(alias)}/ipv6`, { address: address === 'none' ? null : address });
      cli.print(result, (r: { alias: string; ipv6: string | null }) => `node ${r.alias}: IPv6 ${r.ipv6 ?? 'none'}`);
    });
}
