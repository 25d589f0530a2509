/**
 * The agent on its own, without the CLI, and the one list of the workloads an agent runs. It sits
 * outside src/agent so that the agent runtime, which every workload builds on, imports none of them.
 * scripts/bundle-agent.sh (and the SSH installer) bundle `runAgentMain` into one .mjs, so a node
 * runs the agent with nothing but a Node binary; it takes its settings from a JSON file written
 * by the installer, or from flags. Importing this file starts nothing: the CLI's `agent` command
 * and the demo read AGENT_MODULES from here.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ValidationError } from '../core/errors.ts';
import { startAgent } from '../agent/agent.server.ts';
import { superviseSelf } from '../agent/supervisor.ts';
import type { AgentModule } from '../agent/agent-module.ts';
import { sysdataAgentModule } from '../sysdata/sysdata.agent-module.ts';
import { mailAgentModule } from '../mail/mail.agent-module.ts';
import { webAgentModule } from '../web/web.agent-module.ts';
import { dnsAgentModule } from '../dns/dns.agent-module.ts';
import { webmailAgentModule } from '../webmail/webmail.agent-module.ts';
import { databasesAgentModule } from '../databases/databases.agent-module.ts';
import { appsAgentModule } from '../apps/apps.agent-module.ts';
import { certificatesAgentModule } from '../certificates/certificates.agent-module.ts';

/** Every module the agent runs. One line per area; the order is the daemon start order. */
export const AGENT_MODULES: AgentModule[] = [
  sysdataAgentModule,
  certificatesAgentModule,
  mailAgentModule,
  webAgentModule,
  webmailAgentModule, // after web: it reuses the node's nginx when the web role runs one
  dnsAgentModule,
  databasesAgentModule,
  appsAgentModule,
];

/** What the SSH installer writes to <install dir>/agent.json. */
export interface AgentConfigFile {
  root: string;
  address: string;
  port: number;
  /** the parent that installed the node: only it may link the agent */
  allowedParentId?: string;
}

const DEFAULT_PORT = 7443;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      root: { type: 'string' },
      address: { type: 'string' },
      port: { type: 'string' },
      'parent-local': { type: 'boolean' },
      'plain-port': { type: 'string' },
      supervise: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.supervise) {
    superviseSelf();
    return;
  }
  const fromFile: Partial<AgentConfigFile> = values.config ? (JSON.parse(readFileSync(values.config, 'utf8')) as AgentConfigFile) : {};
  const root = values.root ?? fromFile.root;
  const address = values.address ?? fromFile.address;
  if (!root || !address) throw new ValidationError({ message: 'give --config <file> or both --root and --address' });
  const agent = await startAgent({
    root,
    address,
    modules: AGENT_MODULES,
    port: Number(values.port ?? fromFile.port ?? DEFAULT_PORT),
    parentLocal: values['parent-local'] ?? false,
    allowedParentId: fromFile.allowedParentId,
    plainPort: values['plain-port'] ? Number(values['plain-port']) : undefined,
  });
  console.log(JSON.stringify({ at: new Date().toISOString(), message: 'agent listening', url: agent.url }));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void agent.stop().finally(() => process.exit(0)));
  }
}

/** The bundled agent's entry: runs until SIGINT/SIGTERM, exits 1 with one line when it cannot start. */
export function runAgentMain(): void {
  main().catch((error: unknown) => {
    console.error(`fleetpanel-agent: ${(error as Error).message}`);
    process.exit(1);
  });
}
