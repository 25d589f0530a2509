/**
 * Every command group of the CLI, each loaded only when the command line names one of its
 * top-level commands (anything else, such as --help or an unknown word, loads them all): a
 * command then pays only for the modules it runs, not for the parent, the agent and the demo.
 */
import type { Command } from 'commander';
import type { Cli } from './cli-io.ts';

type Register = (program: Command, cli: Cli) => void;

export interface CommandGroup {
  /** the top-level commands the group defines or extends */
  commands: readonly string[];
  load(): Promise<Register>;
}

/** In registration order: distribution comes after node, whose group it extends. */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { commands: ['parent', 'agent'], load: async () => (await import('./commands/server.command.ts')).registerServerCommands },
  { commands: ['login', 'logout'], load: async () => (await import('./commands/session.command.ts')).registerSessionCommands },
  { commands: ['node'], load: async () => (await import('./commands/node.command.ts')).registerNodeCommands },
  { commands: ['demo'], load: async () => (await import('./commands/demo.command.ts')).registerDemoCommands },
  { commands: ['account'], load: async () => (await import('./commands/account.command.ts')).registerAccountCommands },
  { commands: ['plan'], load: async () => (await import('./commands/plan.command.ts')).registerPlanCommands },
  { commands: ['reseller'], load: async () => (await import('./commands/reseller.command.ts')).registerResellerCommands },
  { commands: ['password-policy'], load: async () => (await import('./commands/password-policy.command.ts')).registerPasswordPolicyCommands },
  { commands: ['job'], load: async () => (await import('./commands/job.command.ts')).registerJobCommands },
  { commands: ['sysdata'], load: async () => (await import('./commands/sysdata.command.ts')).registerSysdataCommands },
  { commands: ['dns'], load: async () => (await import('./commands/dns.command.ts')).registerDnsCommands },
  { commands: ['notify', 'metrics'], load: async () => (await import('./commands/notify.command.ts')).registerNotifyCommands },
  { commands: ['mail'], load: async () => (await import('./commands/mail.command.ts')).registerMailCommands },
  { commands: ['db'], load: async () => (await import('./commands/db.command.ts')).registerDbCommands },
  { commands: ['app'], load: async () => (await import('./commands/app.command.ts')).registerAppCommands },
  { commands: ['ssl'], load: async () => (await import('./commands/ssl.command.ts')).registerSslCommands },
  { commands: ['node'], load: async () => (await import('./commands/distribution.command.ts')).registerDistributionCommands },
  { commands: ['account'], load: async () => (await import('./commands/transfer.command.ts')).registerTransferCommands },
  { commands: ['node'], load: async () => (await import('./commands/reparent.command.ts')).registerReparentCommands },
];

const OPTIONS_WITH_VALUE = new Set(['--url', '--token', '--ca-bundle']);

/** The first word of the command line that is not a global option: the top-level command. */
export function topLevelCommand(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (OPTIONS_WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** The groups a command line needs, in registration order; all of them when none is named. */
export function groupsFor(args: readonly string[]): readonly CommandGroup[] {
  const word = topLevelCommand(args);
  if (word === undefined && (args.includes('--version') || args.includes('-V'))) return [];
  const named = COMMAND_GROUPS.filter((group) => word !== undefined && group.commands.includes(word));
  return named.length > 0 ? named : COMMAND_GROUPS;
}
