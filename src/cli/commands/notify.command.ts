import type { Command } from 'commander';
import { readStdin, type Cli } from '../cli-io.ts';

interface SettingsView {
  email: string | null;
  webhookUrl: string | null;
  webhookSecretSet: boolean;
  webhookSecret?: string;
}

function settingsLines(s: SettingsView): string {
  return [
    `email:   ${s.email ?? '-'}`,
    `webhook: ${s.webhookUrl ?? '-'}${s.webhookUrl && s.webhookSecretSet ? ' (signed)' : ''}`,
    ...(s.webhookSecret ? [`secret:  ${s.webhookSecret}  (shown once: give it to the receiver to check X-Fleetpanel-Signature)`] : []),
  ].join('\n');
}

export function registerNotifyCommands(program: Command, cli: Cli): void {
  const notify = program.command('notify').description("where the admin is told about failed services, offline nodes, failed jobs, old de-syncs and expiring certificates");

  notify
    .command('show')
    .description('the notification settings and the problems notified and not yet recovered')
    .action(async () => {
      const settings = await cli.api<SettingsView>('GET', '/api/notifications');
      const { alerts } = await cli.api<{ alerts: { key: string; subject: string; since: string }[] }>('GET', '/api/notifications/alerts');
      cli.print({ ...settings, alerts }, (v: SettingsView & { alerts: typeof alerts }) =>
        [settingsLines(v), `open:    ${v.alerts.length === 0 ? '-' : ''}`, ...v.alerts.map((a) => `  ${a.since}  ${a.subject}`)].join('\n'),
      );
    });

  notify
    .command('email <address>')
    .description("mail notifications to this address, through the parent's own Postfix ('off' stops them)")
    .action(async (address: string) => {
      cli.print(await cli.api<SettingsView>('PUT', '/api/notifications/email', { address: address === 'off' ? null : address }), settingsLines);
    });

  notify
    .command('webhook <url>')
    .description("post notifications as signed JSON to this URL ('off' stops them); the secret is read from standard input with --secret-stdin, or generated and printed once")
    .option('--secret-stdin', 'read the shared secret from standard input')
    .action(async (url: string, options: { secretStdin?: boolean }) => {
      const secret = options.secretStdin ? readStdin().trim() : undefined;
      cli.print(await cli.api<SettingsView>('PUT', '/api/notifications/webhook', url === 'off' ? { url: null } : { url, ...(secret !== undefined ? { secret } : {}) }), settingsLines);
    });

  notify
    .command('test')
    .description('send a test notification through every channel now')
    .action(async () => {
      cli.print(await cli.api<{ sentTo: string[] }>('POST', '/api/notifications/test', {}), (r: { sentTo: string[] }) => `sent to: ${r.sentTo.join(', ') || 'nothing (no channel set)'}`);
    });

  program
    .command('metrics')
    .description('Prometheus metrics at <parent>/metrics')
    .command('token')
    .description('make a new token for the Prometheus scraper (the previous one stops working); printed once')
    .action(async () => {
      cli.print(await cli.api<{ token: string }>('POST', '/api/metrics/token', {}), (r: { token: string }) => r.token);
    });
}
