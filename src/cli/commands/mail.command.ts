import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.ts';
import { readStdin, table, type Cli } from '../cli-io.ts';
import type { ForwarderView, MailboxView } from '../../mail/mail.service.ts';

const mailPath = (username: string, rest: string): string => `/api/accounts/${encodeURIComponent(username)}/mail/${rest}`;

/** A password never comes from the command line, where `ps` shows it. */
function passwordFromStdin(given: boolean | undefined): string {
  if (!given) throw new ValidationError('password', 'give it with --password-stdin');
  const password = readStdin();
  if (!password) throw new ValidationError('password', 'standard input is empty');
  return password;
}

/** A quota that is not a number is sent as given, so the API names the field in its refusal. */
const quotaValue = (text: string | undefined): number | string | undefined => (text === undefined ? undefined : /^[0-9]{1,10}$/.test(text) ? Number(text) : text);

/** The account an address belongs to, by its domain (the parent answers only for accounts the caller may see). */
async function accountOf(cli: Cli, address: string): Promise<string> {
  const at = address.lastIndexOf('@');
  const domain = at < 0 ? address : address.slice(at + 1);
  return (await cli.api<{ account: string }>('GET', `/api/mail/domains/${encodeURIComponent(domain)}/account`)).account;
}

const forwarderLine = (f: ForwarderView): string => `${f.source} -> ${f.type === 'pipe' ? `|${f.command}` : (f.destinations ?? []).join(', ')}`;

export function registerMailCommands(program: Command, cli: Cli): void {
  const mail = program.command('mail').description("mailboxes and forwarders of an account's domain (the account is found from the address)");
  const mailbox = mail.command('mailbox').description('mailboxes: log in with the full address over IMAP and POP3');

  mailbox
    .command('add <address>')
    .description('add a mailbox; its password is read from standard input')
    .option('--password-stdin', 'read the password from standard input (required)')
    .option('--quota <mb>', "quota in MB (default: the plan's disk space)")
    .action(async (address: string, options: { passwordStdin?: boolean; quota?: string }) => {
      const password = passwordFromStdin(options.passwordStdin);
      const added = await cli.api<{ proxiedFrom: string; mailbox: MailboxView }>('POST', mailPath(await accountOf(cli, address), 'mailboxes'), { address, password, quotaMb: quotaValue(options.quota) });
      cli.print(added, (a: { proxiedFrom: string; mailbox: MailboxView }) => `mailbox ${a.mailbox.address} added for account ${a.mailbox.account} on node ${a.proxiedFrom} (quota ${a.mailbox.quotaMb || 'none'} MB)`);
    });

  mailbox
    .command('list')
    .description('mailboxes you may see; with --account, as the mail node holds them, with message counts')
    .option('--account <username>', 'one account')
    .action(async (options: { account?: string }) => {
      if (options.account) {
        const listed = await cli.api<{ proxiedFrom: string; mailboxes: MailboxView[] }>('GET', mailPath(options.account, 'mailboxes'));
        cli.print(listed, (l: { proxiedFrom: string; mailboxes: MailboxView[] }) =>
          [`from node ${l.proxiedFrom}`, table(['ADDRESS', 'QUOTA MB', 'MESSAGES'], l.mailboxes.map((m) => [m.address, m.quotaMb || 'none', m.messages ?? '-']))].join('\n'),
        );
        return;
      }
      const listed = await cli.api<{ mailboxes: MailboxView[] }>('GET', '/api/mail/mailboxes');
      cli.print(listed, (l: { mailboxes: MailboxView[] }) => table(['ADDRESS', 'ACCOUNT', 'QUOTA MB'], l.mailboxes.map((m) => [m.address, m.account, m.quotaMb || 'none'])));
    });

  mailbox
    .command('remove <address>')
    .description('remove a mailbox and every message in it')
    .action(async (address: string) => {
      const removed = await cli.api<{ proxiedFrom: string; removed: string }>('DELETE', mailPath(await accountOf(cli, address), `mailboxes/${encodeURIComponent(address)}`));
      cli.print(removed, (r: { proxiedFrom: string; removed: string }) => `mailbox ${r.removed} removed on node ${r.proxiedFrom}`);
    });

  mailbox
    .command('password <address>')
    .description("set a mailbox's password, read from standard input")
    .option('--password-stdin', 'read the password from standard input (required)')
    .action(async (address: string, options: { passwordStdin?: boolean }) => {
      const password = passwordFromStdin(options.passwordStdin);
      const changed = await cli.api<{ proxiedFrom: string; address: string }>('PUT', mailPath(await accountOf(cli, address), `mailboxes/${encodeURIComponent(address)}/password`), { password });
      cli.print(changed, (c: { proxiedFrom: string; address: string }) => `password of ${c.address} changed on node ${c.proxiedFrom}`);
    });

  const forwarder = mail.command('forwarder').description('forwarders: to other addresses, or to a program (pipe)');

  forwarder
    .command('add <source> [destinations]')
    .description('forward SOURCE to DEST[,DEST…], or with --pipe to a program that reads the message on standard input')
    .option('--pipe <program>', 'absolute path of the program')
    .action(async (source: string, destinations: string | undefined, options: { pipe?: string }) => {
      if ((destinations === undefined) === (options.pipe === undefined)) throw new ValidationError('destinations', 'give DEST[,DEST…] or --pipe /path/program (one of them)');
      const body = options.pipe !== undefined ? { source, pipe: options.pipe } : { source, destinations: destinations!.split(',').map((d) => d.trim()) };
      const added = await cli.api<{ proxiedFrom: string; forwarder: ForwarderView }>('POST', mailPath(await accountOf(cli, source), 'forwarders'), body);
      cli.print(added, (a: { proxiedFrom: string; forwarder: ForwarderView }) => `forwarder ${forwarderLine(a.forwarder)} set on node ${a.proxiedFrom}`);
    });

  forwarder
    .command('list')
    .description('forwarders you may see')
    .option('--account <username>', 'one account')
    .action(async (options: { account?: string }) => {
      const listed = options.account
        ? await cli.api<{ forwarders: ForwarderView[] }>('GET', mailPath(options.account, 'forwarders'))
        : await cli.api<{ forwarders: ForwarderView[] }>('GET', '/api/mail/forwarders');
      cli.print(listed, (l: { forwarders: ForwarderView[] }) =>
        table(['SOURCE', 'TYPE', 'TO'], l.forwarders.map((f) => [f.source, f.type, f.type === 'pipe' ? `|${f.command}` : (f.destinations ?? []).join(', ')])),
      );
    });

  forwarder
    .command('remove <source>')
    .description("remove SOURCE's forwarders: all, or only one destination or one pipe")
    .option('--destination <address>', 'only the forwarding to this address')
    .option('--pipe <program>', 'only the pipe to this program')
    .action(async (source: string, options: { destination?: string; pipe?: string }) => {
      const query = new URLSearchParams();
      if (options.destination !== undefined) query.set('destination', options.destination);
      if (options.pipe !== undefined) query.set('pipe', options.pipe);
      const suffix = query.size > 0 ? `?${query.toString()}` : '';
      const removed = await cli.api<{ proxiedFrom: string; removed: ForwarderView[] }>('DELETE', `${mailPath(await accountOf(cli, source), `forwarders/${encodeURIComponent(source)}`)}${suffix}`);
      cli.print(removed, (r: { proxiedFrom: string; removed: ForwarderView[] }) => r.removed.map((f) => `removed ${forwarderLine(f)} on node ${r.proxiedFrom}`).join('\n'));
    });
}
