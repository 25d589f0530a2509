import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { table, type Cli } from '../cli-io.ts';
import type { JobView } from '../../jobs/index.ts';
import type { AcmeSettingsView, CertificateView } from '../../certificates/certificates.service.ts';
import type { PanelCertificateView } from '../../certificates/panel-certificate.ts';
import { followJob } from './distribution.command.ts';
import { ValidationError } from '../../core/errors.ts';

const statusLines = (certificates: CertificateView[]): string =>
  [
    table(
      ['ACCOUNT', 'KIND', 'ISSUER', 'NOT AFTER', 'RENEW AT', 'LAST ERROR'],
      certificates.map((c) => [c.account, c.kind, c.issuer, c.notAfter.slice(0, 10), c.renewAt.slice(0, 16), c.lastError ?? '-']),
    ),
    ...certificates.map((c) => `${c.account}: ${c.names.join(' ')}${c.warning ? `\n  WARNING: ${c.warning}` : ''}`),
  ].join('\n');

export function registerSslCommands(program: Command, cli: Cli): void {
  const ssl = program.command('ssl').description('account certificates (ACME with DNS validation) and the ACME directory');

  ssl
    .command('status [username]')
    .description("every visible account's certificate, or one: names, issuer, validity, renewal and last error")
    .action(async (username?: string) => {
      const certificates = username
        ? [await cli.api<CertificateView | null>('GET', `/api/accounts/${encodeURIComponent(username)}/ssl`)].filter((c): c is CertificateView => c !== null)
        : (await cli.api<{ certificates: CertificateView[] }>('GET', '/api/ssl/certificates')).certificates;
      cli.print(certificates, statusLines);
    });

  ssl
    .command('renew <username>')
    .description('order a new certificate now; the job shows each step (order, publish, propagate, validate, finalize, deploy, clean)')
    .option('--name <name...>', 'extra names inside the account zone')
    .option('--no-wait', 'return once the job is queued')
    .action(async (username: string, options: { name?: string[]; wait: boolean }) => {
      const { job } = await cli.api<{ job: JobView }>('POST', `/api/accounts/${encodeURIComponent(username)}/ssl/renew`, { names: options.name ?? [] });
      if (!options.wait) {
        cli.print(job, (j: JobView) => `job ${j.id} (${j.type}) queued for ${j.key}`);
        return;
      }
      if (!cli.json) process.stdout.write(`job ${job.id} (${job.type}) for ${job.key}\n`);
      await followJob(cli, job);
    });

  ssl
    .command('redirect <username> [state]')
    .description("show, or turn on or off, the site's redirect of plain HTTP to HTTPS (state: on|off)")
    .action(async (username: string, state?: string) => {
      const path = `/api/accounts/${encodeURIComponent(username)}/web`;
      if (state !== undefined && state !== 'on' && state !== 'off') throw new ValidationError('state', `must be on or off, got '${state}'`);
      const options = state === undefined ? await cli.api<{ httpsRedirect: boolean }>('GET', path) : await cli.api<{ httpsRedirect: boolean }>('PUT', path, { httpsRedirect: state === 'on' });
      cli.print(options, (o: { httpsRedirect: boolean }) => `${username}: plain HTTP ${o.httpsRedirect ? 'redirects to HTTPS' : 'serves the site'}`);
    });

  ssl
    .command('panel')
    .description("the certificate of the parent's own HTTPS (parent --hostname): kind, issuer, validity, the zone that validates it, last error")
    .option('--renew', 'order it now and follow the job')
    .action(async (options: { renew?: boolean }) => {
      if (options.renew) {
        const { job } = await cli.api<{ job: JobView }>('POST', '/api/ssl/panel/renew', {});
        if (!cli.json) process.stdout.write(`job ${job.id} (${job.type}) for ${job.key}\n`);
        await followJob(cli, job);
        return;
      }
      const view = await cli.api<PanelCertificateView | null>('GET', '/api/ssl/panel');
      cli.print(view, (v: PanelCertificateView | null) =>
        v === null
          ? 'the parent runs without --hostname: plain HTTP, no certificate of its own'
          : [
              `hostname:  ${v.hostname}`,
              `kind:      ${v.kind}`,
              `issuer:    ${v.issuer}`,
              `not after: ${v.notAfter}`,
              `renew at:  ${v.renewAt}`,
              `zone of:   ${v.zoneAccount ?? '- (no account holds its zone yet)'}`,
              `last error: ${v.lastError ?? '-'}`,
              ...(v.warning ? [`WARNING: ${v.warning}`] : []),
            ].join('\n'),
      );
    });

  const ca = ssl.command('ca').description('the ACME directory this parent orders from');
  ca.command('show')
    .description('the directory URL and whether a CA bundle is set')
    .action(async () => {
      const settings = await cli.api<AcmeSettingsView>('GET', '/api/ssl/ca');
      cli.print(settings, (s: AcmeSettingsView) => `directory: ${s.directoryUrl ?? 'none (self-signed certificates only)'}\nCA bundle: ${s.caBundle ? 'set' : 'none'}`);
    });
  ca.command('set <url>')
    .description("set the ACME directory (Let's Encrypt production is the default for real use)")
    .option('--ca-bundle <file>', 'PEM file of the CA that signs the directory HTTPS (a private or test CA)')
    .action(async (url: string, options: { caBundle?: string }) => {
      const caBundle = options.caBundle === undefined ? null : readFileSync(options.caBundle, 'utf8');
      const settings = await cli.api<AcmeSettingsView>('PUT', '/api/ssl/ca', { directoryUrl: url, caBundle });
      cli.print(settings, (s: AcmeSettingsView) => `ACME directory set to ${s.directoryUrl}${s.caBundle ? ' (with a CA bundle)' : ''}`);
    });
}
