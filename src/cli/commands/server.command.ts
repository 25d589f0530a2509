// The parent and the agent are imported when their command runs: `agent` does not load the
// parent's store and services, and neither loads for any other command.
import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.ts';
import { readFileSync } from 'node:fs';
import { DEFAULT_AGENT_PORT } from '../../nodes/agent-port.ts';

/** Let's Encrypt production: what a parent orders from when nobody said otherwise. */
const LETS_ENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';

function parseListen(value: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(value);
  if (!match) throw new ValidationError('--listen', `must be host:port, got '${value}'`);
  return { host: match[1]!, port: Number(match[2]) };
}

function onSignals(stop: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stop().finally(() => process.exit(0));
    });
  }
}

export function registerServerCommands(program: Command): void {
  program
    .command('parent')
    .description('run the parent: API, store, CA, health checks')
    .requiredOption('--data <dir>', 'data folder (store, CA)')
    .option('--listen <host:port>', 'where the API listens', '127.0.0.1:8080')
    .option('--database <url>', 'postgres://… (default: SQLite in the data folder)')
    .option('--name <name>', 'name of this parent, shown to its nodes')
    .option('--health-interval <ms>', 'node health check interval', '5000')
    .option('--admin-password-file <file>', 'set the admin password from this file')
    .option('--acme-directory <url|off>', "ACME directory for account certificates until `ssl ca set` stores one ('off': self-signed only)", LETS_ENCRYPT_PRODUCTION)
    .option('--hostname <name>', 'serve the API and UI over HTTPS with an ACME certificate for this name (DNS-01 in the zone of the account that holds it; self-signed until then); plain HTTP on --listen only redirects')
    .option('--https-port <port>', 'HTTPS port on the --listen address, with --hostname', '8443')
    .action(async (options: { data: string; listen: string; database?: string; name?: string; healthInterval: string; adminPasswordFile?: string; acmeDirectory: string; hostname?: string; httpsPort: string }) => {
      const httpsPort = Number(options.httpsPort);
      if (!Number.isInteger(httpsPort) || httpsPort < 1 || httpsPort > 65535) throw new ValidationError('--https-port', `must be a port from 1 to 65535, got '${options.httpsPort}'`);
      const { host, port } = parseListen(options.listen);
      const { startParent } = await import('../../parent/parent.server.ts');
      const parent = await startParent({
        dataDir: options.data,
        database: options.database,
        host,
        port,
        name: options.name,
        healthIntervalMs: Number(options.healthInterval),
        adminPassword: options.adminPasswordFile ? readFileSync(options.adminPasswordFile, 'utf8').trim() : undefined,
        acmeDirectory: options.acmeDirectory === 'off' ? null : options.acmeDirectory,
        hostname: options.hostname?.toLowerCase(),
        httpsPort,
      });
      console.log(JSON.stringify({ at: new Date().toISOString(), message: 'parent listening', url: parent.url }));
      if (parent.generatedAdminPassword) console.log(JSON.stringify({ message: 'admin login created', username: 'admin', password: parent.generatedAdminPassword }));
      onSignals(() => parent.stop());
    });

  program
    .command('agent')
    .description('run a node agent (serves only its parent)')
    .requiredOption('--root <dir>', "the node's root folder")
    .requiredOption('--address <ip>', "the node's address; every service of the node binds it")
    .option('--port <port>', 'agent port', String(DEFAULT_AGENT_PORT))
    .option('--parent-local', "this is the parent's own node")
    .option('--plain-port <port>', 'also serve an unauthenticated /v1/ping over plain HTTP (benchmarks)')
    .option('--supervise', 'run under a supervisor that restarts the agent if it dies')
    .action(async (options: { root: string; address: string; port: string; parentLocal?: boolean; plainPort?: string; supervise?: boolean }) => {
      if (options.supervise) {
        (await import('../../agent/supervisor.ts')).superviseSelf();
        return;
      }
      const { startAgent } = await import('../../agent/agent.server.ts');
      const { AGENT_MODULES } = await import('../../node-agent/agent.main.ts');
      const agent = await startAgent({
        root: options.root,
        address: options.address,
        modules: AGENT_MODULES,
        port: Number(options.port),
        parentLocal: options.parentLocal,
        plainPort: options.plainPort ? Number(options.plainPort) : undefined,
      });
      console.log(JSON.stringify({ at: new Date().toISOString(), message: 'agent listening', url: agent.url }));
      if (agent.token) console.log(`link token: ${agent.token}`);
      onSignals(() => agent.stop());
    });
}
