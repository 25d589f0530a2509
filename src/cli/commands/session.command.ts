import type { Command } from 'commander';
import { readStdin, saveContext, contextFile, type Cli } from '../cli-io.ts';
import { ValidationError } from '../../core/errors.ts';

export function registerSessionCommands(program: Command, cli: Cli): void {
  program
    .command('login')
    .description('log in at a parent (given with --url) and remember the session for later commands')
    .requiredOption('--user <username>', 'user name')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (options: { user: string; passwordStdin?: boolean }) => {
      if (!options.passwordStdin) throw new ValidationError('password', 'give it with --password-stdin');
      const { url } = cli.context();
      const session = await cli.api<{ token: string; expiresAt: string }>('POST', '/api/session', { username: options.user, password: readStdin() });
      saveContext({ url, token: session.token });
      cli.print({ url, username: options.user, expiresAt: session.expiresAt, context: contextFile() }, (r: { username: string; url: string }) => `logged in as ${r.username} at ${r.url}`);
    });
}
