import type { Command } from 'commander';
import { readStdin, saveContext, savedContext, forgetContext, contextFile, type Cli } from '../cli-io.ts';
import { UnauthenticatedError, ValidationError } from '../../core/errors.ts';

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
      saveContext({ url, token: session.token, session: true });
      cli.print({ url, username: options.user, expiresAt: session.expiresAt, context: contextFile() }, (r: { username: string; url: string }) => `logged in as ${r.username} at ${r.url}`);
    });

  program
    .command('logout')
    .description('end the saved login: its session is revoked at the parent and forgotten here (a saved API token, as `demo up` leaves, is only forgotten)')
    .action(async () => {
      const saved = savedContext();
      const context = contextFile();
      if (!saved.url || !saved.token) {
        cli.print({ loggedOut: false, revoked: false, context }, () => `not logged in: no saved login in ${context}`);
        return;
      }
      const { url, token } = saved as { url: string; token: string };
      let revoked = false;
      if (saved.session === true) {
        try {
          await cli.apiAt({ url: url.replace(/\/$/, ''), token }, 'DELETE', '/api/session');
          revoked = true;
        } catch (error) {
          // Expired or revoked already: nothing is left to end at the parent. Anything else (the
          // parent cannot be reached) keeps the login saved, so the session can still be ended.
          if (!(error instanceof UnauthenticatedError)) throw error;
        }
      }
      forgetContext();
      cli.print({ loggedOut: true, revoked, url, context }, (r: { revoked: boolean; url: string }) =>
        saved.session === true
          ? `logged out of ${r.url}${r.revoked ? '' : ' (the session had already ended there)'}`
          : `forgot the saved API token for ${r.url}; it was not revoked (an API token is revoked by DELETE /api/session with it)`,
      );
    });
}
