/** Every command group of the CLI. One line per domain. */
import type { Command } from 'commander';
import type { Cli } from './cli-io.ts';
import { registerDistributionCommands } from './commands/distribution.command.ts';
import { registerServerCommands } from './commands/server.command.ts';
import { registerNodeCommands } from './commands/node.command.ts';
import { registerSessionCommands } from './commands/session.command.ts';
import { registerDemoCommands } from './commands/demo.command.ts';
import { registerAccountCommands } from './commands/account.command.ts';
import { registerPlanCommands } from './commands/plan.command.ts';
import { registerResellerCommands } from './commands/reseller.command.ts';
import { registerPasswordPolicyCommands } from './commands/password-policy.command.ts';
import { registerJobCommands } from './commands/job.command.ts';
import { registerSysdataCommands } from './commands/sysdata.command.ts';
import { registerDnsCommands } from './commands/dns.command.ts';
import { registerMailCommands } from './commands/mail.command.ts';

export const COMMAND_MODULES: ((program: Command, cli: Cli) => void)[] = [
  (program) => registerServerCommands(program),
  registerSessionCommands,
  registerNodeCommands,
  registerDemoCommands,
  registerAccountCommands,
  registerPlanCommands,
  registerResellerCommands,
  registerPasswordPolicyCommands,
  registerJobCommands,
  registerSysdataCommands,
  registerDnsCommands,
  registerMailCommands,
  registerDistributionCommands, // after node: it adds node accounts|cleanup|force-dedistribute
];
