/** The `fleetpanel` command line. */
import { Command, CommanderError } from 'commander';
import { Cli, type GlobalOptions } from './cli-io.ts';
import { groupsFor } from './commands.ts';
import { VERSION } from '../core/version.ts';
import { ValidationError } from '../core/errors.ts';

const program = new Command();
program
  .name('fleetpanel')
  .description('Fleetpanel: a multi-server web-hosting control panel')
  .version(VERSION)
  .option('--json', 'machine-readable output')
  .option('--url <url>', "the parent's API address (default: FLEETPANEL_URL or the saved login)")
  .option('--token <token>', 'API token (default: FLEETPANEL_TOKEN or the saved login)')
  .option('--ca-bundle <file>', "PEM file of the CA that signs the parent's HTTPS certificate, for a private CA (default: FLEETPANEL_CA_BUNDLE, else the system's CAs)")
  .exitOverride()
  .configureOutput({ outputError: () => undefined });
const cli = new Cli(() => program.opts<GlobalOptions>());
const registers = await Promise.all(groupsFor(process.argv.slice(2)).map((group) => group.load()));
for (const register of registers) register(program, cli);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') process.exit(0);
    cli.fail(new ValidationError({ message: error.message.replace(/^error: /, '') }));
  }
  cli.fail(error);
}
