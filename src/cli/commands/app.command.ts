import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.ts';
import { readStdin, type Cli } from '../cli-io.ts';
import type { WordpressInstallView } from '../../apps/apps.service.ts';

export function registerAppCommands(program: Command, cli: Cli): void {
  const app = program.command('app').description('applications installed on sites');
  app
    .command('install <application>')
    .description('install an application on a site (wordpress)')
    .requiredOption('--site <domain>', "the account's site")
    .option('--title <title>', 'complete the setup with this site title (needs --admin-password-stdin)')
    .option('--admin-password-stdin', "the admin's password from standard input (the admin is named after the account)")
    .action(async (application: string, options: { site: string; title?: string; adminPasswordStdin?: boolean }) => {
      if (application !== 'wordpress') throw new ValidationError('application', `'${application}' is not one of wordpress`);
      const adminPassword = options.adminPasswordStdin ? readStdin() : undefined;
      if (options.adminPasswordStdin && !adminPassword) throw new ValidationError('adminPassword', 'standard input is empty');
      const body = { site: options.site, ...(options.title !== undefined ? { title: options.title } : {}), ...(adminPassword !== undefined ? { adminPassword } : {}) };
      const view = await cli.api<WordpressInstallView>('POST', '/api/apps/wordpress', body);
      cli.print(view, (v: WordpressInstallView) =>
        [
          `WordPress installed on ${v.site} (web node ${v.webNode})`,
          `database ${v.database} on ${v.databaseNode}, user ${v.databaseUser}`,
          v.setupUrl ? `finish the setup at ${v.setupUrl}` : `set up; log in at http://${v.site}/wp-login.php as ${v.admin}`,
        ].join('\n'),
      );
    });
}
