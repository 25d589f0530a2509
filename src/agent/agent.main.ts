/**
 * The agent on its own, without the CLI: this is the entry that scripts/bundle-agent.sh (and the
 * SSH installer) bundle into one .mjs, so a node runs the agent with nothing but a Node binary.
 * It takes its settings from a JSON file written by the installer, or from flags.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startAgent } from './agent.server.ts';
import { superviseSelf } from './supervisor.ts';

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
  if (!root || !address) throw new Error('give --config <file> or both --root and --address');
  const agent = await startAgent({
    root,
    address,
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

main().catch((error: unknown) => {
  console.error(`fleetpanel-agent: ${(error as Error).message}`);
  process.exit(1);
});
