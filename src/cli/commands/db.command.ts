import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.ts';
import { readStdin, table, type Cli } from '../cli-io.ts';
import type { DatabaseListView, DatabaseView } from '../../databases/databases.service.ts';

/** Database and user names carry their account as prefix (alice_shop), so most commands need no account. */
function accountOf(name: string, field: string): string {
  const at = name.indexOf('_');
  if (at <= 0) throw new ValidationError(field, "must start with the account's prefix, as in alice_shop");
  return encodeURIComponent(name.slice(0, at));
}

function passwordFromStdin(given: boolean | undefined): string {
  if (!given) throw new ValidationError('password', 'give it with --password-stdin');
  const password = readStdin();
  if (!password) throw new ValidationError('password', 'standard input is empty');
  return password;
}

const size = (bytes: number | null): string => (bytes === null ? '?' : bytes < 1048576 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / 1048576).toFixed(1)} MB`);

export function registerDbCommands(program: Command, cli: Cli): void {
  const db = program.command('db').description("an account's MariaDB databases and users (names start with the account's name: alice_shop)");

  db.command('create <account> <name>')
    .description('create a database on the account\'s database node (the first one places them: --node ALIAS, admin only)')
    .option('--node <alias>', "node for the account's databases, or 'local' for the parent's own")
    .action(async (account: string, name: string, options: { node?: string }) => {
      const created = await cli.api<DatabaseView>('POST', `/api/accounts/${encodeURIComponent(account)}/databases`, { name, ...(options.node ? { node: options.node } : {}) });
      cli.print(created, (d: DatabaseView) => `created ${d.name} on ${d.node}`);
    });

  db.command('drop <name>').description('drop a database').action(async (name: string) => {
    cli.print(await cli.api('DELETE', `/api/accounts/${accountOf(name, 'name')}/databases/${encodeURIComponent(name)}`), () => `dropped ${name}`);
  });

  db.command('list <account>').description('databases with their node and size, and the database users').action(async (account: string) => {
    const view = await cli.api<DatabaseListView>('GET', `/api/accounts/${encodeURIComponent(account)}/databases`);
    cli.print(view, (v: DatabaseListView) =>
      [
        table(['DATABASE', 'NODE', 'SIZE'], v.databases.map((d) => [d.name, d.node, size(d.sizeBytes)])),
        '',
        table(['USER', 'FROM', 'DATABASES'], v.users.map((u) => [u.name, u.host ?? '?', u.databases.join(', ')])),
        '',
        `${v.databases.length} of ${v.maxDatabases} databases, ${size(v.usedBytes)} counted toward the plan's disk`,
      ].join('\n'),
    );
  });

  db.command('dump <name>').description('print an SQL dump of the database (db dump alice_shop > shop.sql)').action(async (name: string) => {
    const { sql } = await cli.api<{ sql: string }>('GET', `/api/accounts/${accountOf(name, 'name')}/databases/${encodeURIComponent(name)}/dump`);
    process.stdout.write(sql);
  });

  db.command('import <name>').description('run an SQL file from standard input inside the database (db import alice_shop < shop.sql)').action(async (name: string) => {
    const sql = readStdin();
    if (!sql) throw new ValidationError('sql', 'standard input is empty');
    cli.print(await cli.api('PUT', `/api/accounts/${accountOf(name, 'name')}/databases/${encodeURIComponent(name)}/import`, { sql }), () => `imported into ${name}`);
  });

  db.command('grant <user> <database>').description('give a user all privileges on a database of the same account').action(async (user: string, database: string) => {
    cli.print(await cli.api('PUT', `/api/accounts/${accountOf(user, 'user')}/database-users/${encodeURIComponent(user)}/grants/${encodeURIComponent(database)}`), () => `granted ${database} to ${user}`);
  });

  const user = db.command('user').description('database users: they may connect only from the account\'s web node');
  user.command('add <user>').description('add a user').option('--password-stdin', 'read the password from standard input').action(async (name: string, options: { passwordStdin?: boolean }) => {
    const body = { password: passwordFromStdin(options.passwordStdin) };
    cli.print(await cli.api<{ user: string; host: string }>('PUT', `/api/accounts/${accountOf(name, 'user')}/database-users/${encodeURIComponent(name)}`, body), (r: { user: string; host: string }) => `user ${r.user} may connect from ${r.host}`);
  });
  user.command('password <user>').description("change a user's password").option('--password-stdin', 'read the password from standard input').action(async (name: string, options: { passwordStdin?: boolean }) => {
    const body = { password: passwordFromStdin(options.passwordStdin), mustExist: true };
    cli.print(await cli.api('PUT', `/api/accounts/${accountOf(name, 'user')}/database-users/${encodeURIComponent(name)}`, body), () => `password of ${name} changed`);
  });
  user.command('remove <user>').description('remove a user').action(async (name: string) => {
    cli.print(await cli.api('DELETE', `/api/accounts/${accountOf(name, 'user')}/database-users/${encodeURIComponent(name)}`), () => `removed ${name}`);
  });
}
