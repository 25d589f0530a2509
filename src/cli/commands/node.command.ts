import type { Command } from 'commander';
import { readStdin, table, type Cli } from '../cli-io.ts';
import { readFileSync } from 'node:fs';
import { INSTALL_FAILED_PREFIX, type NodeView, type ServiceView } from '../../nodes/node.model.ts';
import { ConflictError, NodeUnavailableError, ValidationError } from '../../core/errors.ts';
import type { CertificateView } from '../../certificates/certificates.service.ts';

function nodeLines(node: NodeView & { events?: { at: string; message: string }[] }): string {
  const recent = (node.events ?? []).slice(0, 10).reverse();
  return [
    `alias:        ${node.alias}${node.local ? ' (parent node)' : ''}`,
    `host:         ${node.host}:${node.agentPort}`,
    `profile:      ${node.profile}`,
    `roles:        ${node.roles.join(', ') || '-'}`,
    `status:       ${node.statusLabel}${node.statusDetail ? ` (${node.statusDetail})` : ''}`,
    `agent:        ${node.agentVersion ?? '-'}`,
    `services:     ${node.services.map(serviceWord).join(', ') || '-'}`,
    `last check:   ${node.lastCheckAt ?? '-'}`,
    `TLS verified: ${node.tlsVerified ? 'yes' : 'no'}`,
    ...node.services.filter((s) => s.state === 'failed' && s.logTail).flatMap((s) => [`${s.name} failed: ${s.problem ?? ''}; last lines of its log:`, ...s.logTail!.map((l) => `  ${l}`)]),
    ...(recent.length > 0 ? ['recent events:', ...recent.map((e) => `  ${e.at}  ${e.message}`)] : []),
  ].join('\n');
}

function serviceState(s: ServiceView): string {
  return s.state ?? (s.running ? 'running' : 'stopped');
}

function serviceWord(s: ServiceView): string {
  const state = serviceState(s);
  return state === 'running' ? s.name : `${s.name} (${state})`;
}

/** Waits for a node to leave its bring-up phases, printing each new status. */
export async function waitUntilReady(cli: Cli, alias: string, timeoutMs: number): Promise<NodeView> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const node = await cli.api<NodeView>('GET', `/api/nodes/${encodeURIComponent(alias)}`);
    const line = `${node.statusLabel}${node.statusDetail ? `: ${node.statusDetail}` : ''}`;
    if (line !== last && !cli.json) process.stderr.write(`${alias}: ${line}\n`);
    last = line;
    if (node.status === 'ready') return node;
    if (node.status === 'installing' && node.statusDetail?.startsWith(INSTALL_FAILED_PREFIX)) {
      throw new ConflictError(`installing node '${alias}' ${node.statusDetail}; fix it and run 'node add' again to resume`);
    }
    if (Date.now() > deadline) throw new NodeUnavailableError({ message: `node '${alias}' is not ready after ${Math.round(timeoutMs / 1000)} s: ${line}` });
    await new Promise((r) => setTimeout(r, 300));
  }
}

export function registerNodeCommands(program: Command, cli: Cli): void {
  const node = program.command('node').description('link, inspect and manage nodes');

  node
    .command('list')
    .description('all nodes and their live status')
    .action(async () => {
      const { nodes } = await cli.api<{ nodes: NodeView[] }>('GET', '/api/nodes');
      cli.print(nodes, (list: NodeView[]) =>
        table(
          ['ALIAS', 'HOST', 'PROFILE', 'ROLES', 'STATUS', 'LAST CHECK'],
          list.map((n) => [
            n.alias + (n.local ? '*' : ''),
            n.host,
            n.profile,
            n.roles.join(','),
            n.status === 'degraded' ? `${n.statusLabel}: ${n.services.filter((s) => serviceState(s) !== 'running').map(serviceWord).join(', ')}` : n.statusLabel,
            n.lastCheckAt,
          ]),
        ),
      );
    });

  node
    .command('show <alias>')
    .description('one node in detail, with a warning for each certificate it serves that expires soon while its renewal is failing')
    .action(async (alias: string) => {
      const node = await cli.api<NodeView>('GET', `/api/nodes/${encodeURIComponent(alias)}`);
      const { certificates } = await cli.api<{ certificates: CertificateView[] }>('GET', `/api/nodes/${encodeURIComponent(alias)}/ssl`);
      const certificateWarnings = certificates.filter((c) => c.warning !== null).map((c) => `${c.domain}: ${c.warning}`);
      cli.print({ ...node, certificateWarnings }, (n: NodeView & { certificateWarnings: string[] }) =>
        [nodeLines(n), ...n.certificateWarnings.map((w) => `WARNING: ${w}`)].join('\n'),
      );
    });

  const service = node.command('service').description("a node's services (daemons), watched and restarted by its agent");
  service
    .command('list <alias>')
    .description('the services of a node with their state, restarts and last problem')
    .action(async (alias: string) => {
      const result = await cli.api<{ services: ServiceView[] }>('GET', `/api/nodes/${encodeURIComponent(alias)}/services`);
      cli.print(result.services, (list: ServiceView[]) =>
        table(
          ['SERVICE', 'STATE', 'PID', 'RESTARTS', 'LAST RESTART', 'PROBLEM'],
          list.map((s) => [s.name, serviceState(s), s.pid === undefined ? '-' : String(s.pid), String(s.restarts ?? 0), s.lastRestartAt ?? '-', s.problem ?? '-']),
        ),
      );
    });
  for (const action of ['start', 'stop', 'restart'] as const) {
    service
      .command(`${action} <alias> [service]`)
      .description(`${action} one service of the node, or all of them${action === 'stop' ? ' (it stays stopped, the watchdog leaves it alone, until started)' : ''}`)
      .action(async (alias: string, name: string | undefined) => {
        const result = await cli.api<{ services: ServiceView[] }>('POST', `/api/nodes/${encodeURIComponent(alias)}/services/${action}`, name === undefined ? {} : { service: name });
        cli.print(result, (r: { services: ServiceView[] }) => r.services.map((s) => `${alias}: ${s.name} ${serviceState(s)}`).join('\n'));
      });
  }

  node
    .command('link')
    .description('link an agent that was installed by hand, using the one-time token it printed')
    .requiredOption('--alias <alias>', 'name of the node in this parent')
    .requiredOption('--host <host>', 'address or host name of the node')
    .option('--token-stdin', 'read the link token from standard input')
    .option('--token <token>', 'the link token (prefer --token-stdin: command lines are visible to other users)')
    .option('--profile <profile>', 'STANDARD, MAIL, WEB, DNS or DATABASE')
    .option('--roles <roles>', 'comma-separated roles (mail,web,dns,database)')
    .option('--skip-tls-verify', 'do not check the node certificate against the fingerprint in the token')
    .option('--no-wait', 'return at once instead of waiting until the node is ready')
    .option('--timeout <seconds>', 'how long to wait for the node to become ready', '300')
    .action(async (options: { alias: string; host: string; tokenStdin?: boolean; token?: string; profile?: string; roles?: string; skipTlsVerify?: boolean; wait: boolean; timeout: string }) => {
      const token = options.tokenStdin ? readStdin().trim() : options.token;
      if (!token) throw new ValidationError('token', 'give it with --token-stdin');
      const linked = await cli.api<NodeView>('POST', '/api/nodes/link', {
        alias: options.alias,
        host: options.host,
        token,
        profile: options.profile?.toUpperCase(),
        roles: options.roles ? options.roles.split(',').map((r) => r.trim()).filter(Boolean) : undefined,
        skipTlsVerify: options.skipTlsVerify ?? false,
      });
      const result = options.wait ? await waitUntilReady(cli, linked.alias, Number(options.timeout) * 1000) : linked;
      cli.print(result, nodeLines);
    });

  node
    .command('add')
    .description('install a node over SSH (admin user, parent key, agent with its Node runtime, role packages) and link it')
    .requiredOption('--alias <alias>', 'name of the node in this parent')
    .requiredOption('--ssh <user@host>', 'where to log in, as root (root@203.0.113.5)')
    .option('--ssh-port <port>', 'SSH port', '22')
    .option('--password-stdin', 'read the SSH password from standard input')
    .option('--key <file>', 'log in with this private key file')
    .option('--profile <profile>', 'STANDARD, MAIL, WEB, DNS or DATABASE')
    .option('--roles <roles>', 'comma-separated roles (mail,web,dns,database)')
    .option('--address <ip>', 'the address the node serves on (default: the SSH host)')
    .option('--node-root <dir>', 'the agent state folder on the node (default /var/lib/fleetpanel-agent)')
    .option('--install-dir <dir>', 'where the agent and its Node runtime go (default /opt/fleetpanel-agent)')
    .option('--no-wait', 'return once the installation has started')
    .option('--timeout <seconds>', 'how long to wait for the node to become ready', '1200')
    .action(
      async (options: {
        alias: string;
        ssh: string;
        sshPort: string;
        passwordStdin?: boolean;
        key?: string;
        profile?: string;
        roles?: string;
        address?: string;
        nodeRoot?: string;
        installDir?: string;
        wait: boolean;
        timeout: string;
      }) => {
        const match = /^(?:([^@]+)@)?([^@]+)$/.exec(options.ssh);
        if (!match) throw new ValidationError('--ssh', `must be user@host, got '${options.ssh}'`);
        if (Boolean(options.passwordStdin) === Boolean(options.key)) throw new ValidationError({ message: 'give exactly one of --password-stdin and --key FILE' });
        let privateKey: string | undefined;
        if (options.key) {
          try {
            privateKey = readFileSync(options.key, 'utf8');
          } catch (error) {
            throw new ValidationError('--key', `cannot read ${options.key}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
          }
        }
        const password = options.passwordStdin ? readStdin() : undefined;
        if (options.passwordStdin && !password) throw new ValidationError('--password-stdin', 'standard input is empty');
        const sshPort = Number(options.sshPort);
        if (!Number.isInteger(sshPort) || sshPort < 1 || sshPort > 65535) throw new ValidationError('--ssh-port', `must be 1 to 65535`);
        const started = await cli.api<NodeView>('POST', '/api/nodes/add', {
          alias: options.alias,
          ssh: { host: match[2], port: sshPort, username: match[1] ?? 'root', password, privateKey },
          profile: options.profile?.toUpperCase(),
          roles: options.roles ? options.roles.split(',').map((r) => r.trim()).filter(Boolean) : undefined,
          address: options.address,
          nodeRoot: options.nodeRoot,
          installDir: options.installDir,
        });
        const result = options.wait ? await waitUntilReady(cli, started.alias, Number(options.timeout) * 1000) : started;
        cli.print(result, nodeLines);
      },
    );

  node
    .command('profile <alias> <profile>')
    .description('set the server profile of a node (the parent node is always STANDARD)')
    .action(async (alias: string, profile: string) => {
      cli.print(await cli.api<NodeView>('PUT', `/api/nodes/${encodeURIComponent(alias)}/profile`, { profile: profile.toUpperCase() }), nodeLines);
    });

  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    node
      .command(`${name} <alias>`)
      .description(`${name} a node`)
      .action(async (alias: string) => {
        cli.print(await cli.api<NodeView>('PUT', `/api/nodes/${encodeURIComponent(alias)}/enabled`, { enabled }), nodeLines);
      });
  }

  node
    .command('unlink <alias>')
    .description('unlink a node that no account uses any more')
    .option('--token <policy>', 'the new link token the node gets: leave (valid until used) or expire-24h', 'leave')
    .action(async (alias: string, options: { token: string }) => {
      if (options.token !== 'leave' && options.token !== 'expire-24h') throw new ValidationError('--token', 'must be leave or expire-24h');
      const result = await cli.api<{ alias: string; token: string | null }>('POST', `/api/nodes/${encodeURIComponent(alias)}/unlink`, { token: options.token });
      cli.print(result, (r: { alias: string }) => `unlinked ${r.alias}; the node printed a new link token into its agent folder`);
    });
}
