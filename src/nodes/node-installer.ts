/**
 * Installing a node over SSH (ISPmanager style): the parent logs in as root and runs named,
 * idempotent steps, each reported as a node event while the node shows "installation in
 * progress". A failed step leaves the node in `installing` with the step and the reason;
 * running `node add` again repeats every step, and the ones already done change nothing.
 */
import { statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { ConflictError, InternalError, NodeUnavailableError, ValidationError } from '../core/errors.ts';
import { assertValid, checkAlias, checkHost, checkIpv4 } from '../core/grammar.ts';
import { pinnedCall } from '../transport/agent-client.ts';
import { SshSession, parentSshKey, sha256File, shellQuote, type SshKeyPair, type SshTarget } from '../transport/ssh-session.ts';
import { buildAgentBundle, type AgentBundle } from './agent-bundle.ts';
import { ROLE_PACKAGES, type Role } from '../protocol/roles.ts';
import { INSTALL_FAILED_PREFIX, resolveProfileAndRoles, type NodeView, type Profile } from './node.model.ts';
import { DEFAULT_AGENT_PORT, type NodesService } from './nodes.service.ts';
import { toNodeView, type NodeRow } from './nodes.repository.ts';
import { DEFAULT_INSTALL_DIR, DEFAULT_NODE_ROOT, agentPidFile, installedAgent, supervisedAgentArgv } from './agent-install-layout.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';

export const ADMIN_USER = 'fleetmaster';

export interface InstallRequest {
  alias: string;
  ssh: { host: string; port: number; username: string; password?: string; privateKey?: string };
  profile?: Profile;
  roles?: Role[];
  /** the address the agent and every service of the node bind to (default: the SSH host, if an IPv4 address) */
  address?: string;
  nodeRoot?: string;
  installDir?: string;
}

/** What the preflight learned about the node, before anything on it is changed. */
interface NodeFacts {
  address: string;
  os: { id: string; versionId: string; prettyName: string };
  systemd: boolean;
  agentLinkedHere: boolean;
}

interface InstallContext {
  row: NodeRow;
  session: SshSession;
  request: InstallRequest;
  facts: NodeFacts;
  installDir: string;
  nodeRoot: string;
  roles: Role[];
  /** set by the copy step: a running agent must restart to run the new files */
  programChanged: boolean;
}

interface InstallStep {
  title: string;
  /** does the work if it is not done yet; returns what it did, for the node's event log */
  run(context: InstallContext): Promise<string>;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class NodeInstaller {
  private readonly running = new Set<string>();
  private bundle: Promise<AgentBundle> | undefined;
  private nodeRuntime: { path: string; sha256: string; version: string } | undefined;

  constructor(
    private readonly nodes: NodesService,
    /** the parent's data folder: its SSH key pair and the agent bundle live there */
    private readonly dataDir: string,
  ) {}

  private parentKey(): SshKeyPair {
    return parentSshKey(join(this.dataDir, 'ssh'), `fleetpanel-parent-${this.nodes.parentName}`);
  }

  private agentBundle(): Promise<AgentBundle> {
    // Built once per parent process: the sources do not change under a running parent.
    this.bundle ??= buildAgentBundle(join(this.dataDir, 'agent-bundle', 'fleetpanel-agent.mjs'));
    return this.bundle;
  }

  private runtime(): { path: string; sha256: string; version: string } {
    this.nodeRuntime ??= { path: process.execPath, sha256: sha256File(process.execPath), version: process.version };
    return this.nodeRuntime;
  }

  /**
   * Checks the request, logs in and looks at the node (refusing one that belongs to another
   * parent before touching it), registers the node as installing, and runs the steps in the
   * background. The caller follows the steps with `node show`.
   */
  async add(request: InstallRequest): Promise<NodeView> {
    assertValid('alias', request.alias, checkAlias);
    assertValid('ssh.host', request.ssh.host, checkHost);
    if (request.address !== undefined) assertValid('address', request.address, checkIpv4);
    for (const [field, path] of [
      ['nodeRoot', request.nodeRoot],
      ['installDir', request.installDir],
    ] as const) {
      if (path !== undefined && !/^\/[A-Za-z0-9._/-]{1,200}$/.test(path)) throw new ValidationError(field, 'must be an absolute path of letters, digits and . _ - /');
    }
    if (!request.ssh.password && !request.ssh.privateKey) throw new ValidationError('ssh', 'give a password or a private key');
    const { profile, roles } = resolveProfileAndRoles(request.profile, request.roles);
    if (this.running.has(request.alias)) throw new ConflictError(`node '${request.alias}' is being installed right now; follow it with 'fleetpanel node show ${request.alias}'`);

    const existing = await this.nodes.list();
    const local = existing.find((n) => n.local);
    if (local && (local.host === request.ssh.host || local.host === request.address)) {
      throw new ConflictError(`${request.ssh.host} is this parent's own node; a parent cannot be added to itself as a node`);
    }

    const target: SshTarget = { ...request.ssh };
    const knownHostKey = await this.nodes.knownHostKey(request.alias);
    const session = await SshSession.connect(target, knownHostKey).catch((error: Error) => {
      throw new NodeUnavailableError({ message: error.message });
    });
    this.running.add(request.alias);
    let handedOver = false;
    try {
      const facts = await this.preflight(session, request);
      const { row } = await this.nodes.registerOrResumeInstall(request.alias, facts.address, profile, roles);
      await this.nodes.rememberHostKey(request.alias, session.hostKeyFingerprint);
      const context: InstallContext = {
        row,
        session,
        request,
        facts,
        installDir: request.installDir ?? DEFAULT_INSTALL_DIR,
        nodeRoot: request.nodeRoot ?? DEFAULT_NODE_ROOT,
        roles,
        programChanged: false,
      };
      handedOver = true;
      void this.runSteps(context).finally(() => {
        session.close();
        this.running.delete(request.alias);
      });
      return toNodeView((await this.nodes.row(request.alias)));
    } finally {
      if (!handedOver) {
        session.close();
        this.running.delete(request.alias);
      }
    }
  }

  /** Reads the node's OS and address and looks for an agent already there. Changes nothing. */
  private async preflight(session: SshSession, request: InstallRequest): Promise<NodeFacts> {
    const osRelease = (await session.readFile('/etc/os-release')) ?? '';
    const field = (name: string): string => new RegExp(`^${name}="?([^"\\n]*)"?$`, 'm').exec(osRelease)?.[1] ?? '';
    const os = { id: field('ID'), versionId: field('VERSION_ID'), prettyName: field('PRETTY_NAME') || 'an unknown system' };
    const family = `${os.id} ${field('ID_LIKE')}`;
    if (!/\b(debian|ubuntu)\b/.test(family)) throw new ConflictError(`${request.ssh.host} runs ${os.prettyName}; Fleetpanel installs nodes on Debian-family systems only`);

    let address = request.address;
    if (!address) {
      if (checkIpv4(request.ssh.host) === null) address = request.ssh.host;
      else address = (await session.exec(['hostname', '-I'])).trim().split(/\s+/).find((a) => checkIpv4(a) === null);
    }
    if (!address) throw new ValidationError('address', `cannot tell which address of ${request.ssh.host} the node serves on; give --address`);

    const systemd = await session.succeeds(['test', '-d', '/run/systemd/system']);

    // An agent already on the node decides whether we may go on: ours, or unlinked, or refuse.
    let agentLinkedHere = false;
    const hello = await pinnedCall(address, DEFAULT_AGENT_PORT, AGENT_ROUTES.hello, undefined, { skipTlsVerify: true }).catch(() => null);
    if (hello && hello.body.product === 'fleetpanel-agent') {
      if (hello.body.parentLocal) throw new ConflictError(`${address} is a parent's own node; parents cannot be linked to each other, and a parent cannot be linked to itself`);
      if (hello.body.linked) {
        const row = (await this.nodes.list()).find((n) => n.host === address);
        agentLinkedHere = row !== undefined && (await this.nodes.answersToThisParent(await this.nodes.row(row.alias)));
        if (!agentLinkedHere) {
          throw new ConflictError(
            `the agent on ${address} is already linked to parent ${hello.body.parentName ?? '(unknown)'}; a node takes orders from one parent only (unlink it there first)`,
          );
        }
      }
    }
    return { address, os, systemd, agentLinkedHere };
  }

  private async runSteps(context: InstallContext): Promise<void> {
    const steps = this.steps();
    for (const [index, step] of steps.entries()) {
      const label = `step ${index + 1}/${steps.length} ${step.title}`;
      await this.nodes.setStatus(context.row, 'installing', `${label}: running`);
      try {
        const done = await step.run(context);
        await this.nodes.setStatus(context.row, 'installing', `${label}: ${done}`);
      } catch (error) {
        const reason = (error as Error).message.split('\n')[0];
        await this.nodes.setStatus(context.row, 'installing', `${INSTALL_FAILED_PREFIX} ${index + 1}/${steps.length} '${step.title}': ${reason}`).catch(() => undefined);
        return;
      }
    }
    await this.nodes.finishInstall(context.row, 'installed over SSH; assigning roles');
  }

  /** The installation, in order. Each step checks before it changes anything. */
  private steps(): InstallStep[] {
    return [
      { title: `create the admin user ${ADMIN_USER}`, run: (c) => this.createAdminUser(c) },
      { title: "register the parent's SSH key", run: (c) => this.registerParentKey(c) },
      { title: 'check the package sources', run: (c) => this.checkPackageSources(c) },
      { title: 'install the agent and the Node runtime', run: (c) => this.installAgent(c) },
      { title: 'install the packages of the roles', run: (c) => this.installRolePackages(c) },
      { title: 'lay out the node root and write the agent configuration', run: (c) => this.writeAgentConfiguration(c) },
      { title: 'start the agent and link it to this parent only', run: (c) => this.startAndLinkAgent(c) },
      { title: 'list the synchronizers of the data sync', run: async () => this.listSynchronizers() },
    ];
  }

  private async createAdminUser({ session }: InstallContext): Promise<string> {
    if (await session.succeeds(['id', '-u', ADMIN_USER])) return `${ADMIN_USER} exists`;
    // '*' rather than useradd's locked '!': sshd refuses every login, keys included, to a locked account.
    await session.exec(['useradd', '--create-home', '--shell', '/bin/bash', '--password', '*', '--comment', 'Fleetpanel node admin', ADMIN_USER]);
    return `created ${ADMIN_USER}`;
  }

  private async registerParentKey({ session, request }: InstallContext): Promise<string> {
    const key = this.parentKey();
    const home = (await session.exec(['getent', 'passwd', ADMIN_USER])).trim().split(':')[5];
    if (!home) throw new ConflictError(`${ADMIN_USER} has no home folder`);
    const sshDir = posix.join(home, '.ssh');
    const authorizedKeys = posix.join(sshDir, 'authorized_keys');
    const current = (await session.readFile(authorizedKeys)) ?? '';
    const keyBody = key.publicKey.split(/\s+/).slice(0, 2).join(' ');
    let done = 'already registered';
    if (!current.split('\n').some((line) => line.includes(keyBody))) {
      await session.exec(['install', '-d', '-m', '700', '-o', ADMIN_USER, '-g', ADMIN_USER, sshDir]);
      await session.writeFile(authorizedKeys, `${current}${current === '' || current.endsWith('\n') ? '' : '\n'}${key.publicKey}\n`, 0o600);
      await session.exec(['chown', `${ADMIN_USER}:${ADMIN_USER}`, authorizedKeys]);
      done = `registered in ${authorizedKeys}`;
    }
    // Proven by logging in with it, so a refused key shows here and not on the first later use.
    const asAdmin = await SshSession.connect({ host: request.ssh.host, port: request.ssh.port, username: ADMIN_USER, privateKey: key.privateKey }, session.hostKeyFingerprint);
    try {
      const who = (await asAdmin.exec(['id', '-un'])).trim();
      if (who !== ADMIN_USER) throw new ConflictError(`logged in as '${who}', not ${ADMIN_USER}`);
    } finally {
      asAdmin.close();
    }
    return `${done}; key login as ${ADMIN_USER} works`;
  }

  /** Adds no source: every package of the roles is in the distribution's own ones, and the line says so. */
  private async checkPackageSources({ session, facts }: InstallContext): Promise<string> {
    if (!(await session.succeeds(['test', '-x', '/usr/bin/apt-get']))) {
      throw new ConflictError(`${facts.os.prettyName} has no apt-get`);
    }
    if (facts.os.id === 'debian' && facts.os.versionId === '12') return 'apt-get found; none added, none needed: Debian 12 (bookworm) carries every package of the roles in its own sources';
    return `apt-get found; none added: the packages of the roles come from the sources of ${facts.os.prettyName}`;
  }

  private async installAgent(context: InstallContext): Promise<string> {
    const { session, installDir } = context;
    const bundle = await this.agentBundle();
    const runtime = this.runtime();
    await session.exec(['mkdir', '-p', installDir]);
    const copied: string[] = [];
    const files = [
      { local: runtime.path, remote: installedAgent(installDir).node, sha256: runtime.sha256, mode: 0o755, label: `Node ${runtime.version}` },
      { local: bundle.path, remote: installedAgent(installDir).bundle, sha256: bundle.sha256, mode: 0o644, label: `agent ${bundle.version}` },
    ];
    for (const file of files) {
      if ((await session.remoteSha256(file.remote)) === file.sha256) continue;
      await session.upload(file.local, file.remote, file.mode);
      if ((await session.remoteSha256(file.remote)) !== file.sha256) throw new InternalError(`${file.remote} differs from what was sent`);
      copied.push(`${file.label} (${Math.round(statSync(file.local).size / 1e6)} MB)`);
    }
    context.programChanged = copied.length > 0;
    // The node's own Node binary runs the bundle: proves it starts without the repo's node_modules.
    const version = (await session.exec([installedAgent(installDir).node, '--version'])).trim();
    return copied.length > 0 ? `copied ${copied.join(' and ')} to ${installDir}; node ${version} runs there` : `${installDir} is up to date (agent ${bundle.version}, Node ${version})`;
  }

  private async installRolePackages({ session, roles }: InstallContext): Promise<string> {
    const wanted = [...new Set(roles.flatMap((r) => ROLE_PACKAGES[r]))];
    if (wanted.length === 0) return 'the roles need no packages';
    const missing: string[] = [];
    for (const pkg of wanted) {
      const status = await session.exec(['dpkg-query', '-W', '-f=${Status}', pkg]).catch(() => '');
      if (!status.includes('install ok installed')) missing.push(pkg);
    }
    if (missing.length === 0) return `already installed: ${wanted.join(', ')}`;
    // Debian starts a daemon on install; the agent runs its own instances on the node's address,
    // so nothing may start on the default ports (policy-rc.d), and postfix must not ask questions.
    const script = [
      'set -e',
      'guard=/usr/sbin/policy-rc.d',
      'had_guard=0; [ -e "$guard" ] && had_guard=1',
      `[ $had_guard = 1 ] || { printf '#!/bin/sh\\nexit 101\\n' > "$guard"; chmod 755 "$guard"; }`,
      `trap '[ $had_guard = 1 ] || rm -f "$guard"' EXIT`,
      "echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections",
      // Every node writes its own Roundcube config and SQLite database; the packaged one is unused.
      "echo 'roundcube-core roundcube/dbconfig-install boolean false' | debconf-set-selections",
      'export DEBIAN_FRONTEND=noninteractive',
      'apt-get update -q',
      `apt-get install -y -q ${missing.map(shellQuote).join(' ')}`,
    ].join('\n');
    await session.execScript(script, { timeoutMs: 1_200_000 }, ['apt-get', 'install', ...missing]);
    return `installed ${missing.join(', ')}`;
  }

  /**
   * The node root's folders and the agent's own configuration file. No daemon configuration is
   * copied: the agent renders each daemon's files from the node state the parent pushes.
   */
  private async writeAgentConfiguration(context: InstallContext): Promise<string> {
    const { session, nodeRoot, installDir, facts } = context;
    // The node layout (see NodeLayout): every daemon instance keeps its files under the root.
    const folders = ['etc', 'run', 'lib', 'log', 'agent', 'mail', 'www'].map((d) => posix.join(nodeRoot, d));
    await session.exec(['mkdir', '-p', ...folders]);
    await session.exec(['chmod', '700', posix.join(nodeRoot, 'agent')]);
    const config = JSON.stringify({ root: nodeRoot, address: facts.address, port: DEFAULT_AGENT_PORT, allowedParentId: await this.nodes.parentId }, null, 2) + '\n';
    const configFile = installedAgent(installDir).config;
    const before = await session.readFile(configFile);
    if (before !== config) {
      await session.writeFile(configFile, config, 0o600);
      context.programChanged = true;
    }
    return `${nodeRoot} laid out; agent configuration ${configFile} ${before === config ? 'unchanged' : 'written'} (address ${facts.address}, port ${DEFAULT_AGENT_PORT}, accepts only this parent); daemon configuration comes later, rendered by the agent from the node's state`;
  }

  private async startAndLinkAgent(context: InstallContext): Promise<string> {
    const started = context.facts.systemd ? await this.startUnderSystemd(context) : await this.startSupervised(context);
    const { address } = context.facts;
    let hello: { linked?: boolean } | null = null;
    for (let attempt = 0; attempt < 100 && !hello; attempt++) {
      hello = await pinnedCall(address, DEFAULT_AGENT_PORT, AGENT_ROUTES.hello, undefined, { skipTlsVerify: true })
        .then((r) => r.body)
        .catch(() => null);
      if (!hello) await wait(200);
    }
    if (!hello) throw new NodeUnavailableError({ message: `the agent does not answer on ${address}:${DEFAULT_AGENT_PORT} (log: ${posix.join(context.nodeRoot, 'log', 'agent.log')})` });
    const row = await this.nodes.row(context.row.alias);
    if (hello.linked) {
      if (await this.nodes.answersToThisParent(row)) return `${started}; already linked to this parent`;
      throw new ConflictError('the agent is linked to another parent; a node takes orders from one parent only');
    }
    // The token is readable by root only; it travels over the SSH connection, never the network in clear.
    const tokenFile = posix.join(context.nodeRoot, 'agent', 'link-token.txt');
    let token: string | null = null;
    for (let attempt = 0; attempt < 50 && !token; attempt++) {
      token = (await context.session.readFile(tokenFile))?.trim() || null;
      if (!token) await wait(200);
    }
    if (!token) throw new InternalError(`the agent wrote no link token to ${tokenFile}`);
    await this.nodes.linkInstalled(row, token);
    return `${started}; linked with its token, the node now trusts only this parent's CA`;
  }

  private async startUnderSystemd({ session, installDir, programChanged }: InstallContext): Promise<string> {
    const unit = [
      '[Unit]',
      'Description=Fleetpanel node agent',
      'After=network-online.target',
      '',
      '[Service]',
      `ExecStart=${installedAgent(installDir).node} ${installedAgent(installDir).bundle} --config ${installedAgent(installDir).config}`,
      'Restart=always',
      'RestartSec=2',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n');
    const unitFile = '/etc/systemd/system/fleetpanel-agent.service';
    const changed = (await session.readFile(unitFile)) !== unit;
    if (changed) await session.writeFile(unitFile, unit, 0o644);
    await session.exec(['systemctl', 'daemon-reload']);
    await session.exec(['systemctl', 'enable', 'fleetpanel-agent.service']);
    await session.exec(['systemctl', changed || programChanged ? 'restart' : 'start', 'fleetpanel-agent.service']);
    return 'running under systemd (fleetpanel-agent.service)';
  }

  /** Without systemd: the agent's own supervisor restarts it; its PID file is how it is stopped. */
  private async startSupervised({ session, installDir, nodeRoot, programChanged }: InstallContext): Promise<string> {
    const pidFile = agentPidFile(nodeRoot);
    const pid = Number((await session.readFile(pidFile))?.trim());
    const alive = Number.isInteger(pid) && pid > 0 && (await session.succeeds(['kill', '-0', String(pid)]));
    if (alive && !programChanged) return `supervised agent already running (pid ${pid})`;
    if (alive) {
      await session.exec(['kill', '-TERM', String(pid)]);
      for (let attempt = 0; attempt < 100 && (await session.succeeds(['kill', '-0', String(pid)])); attempt++) await wait(100);
    }
    const argv = supervisedAgentArgv(installDir);
    const log = posix.join(nodeRoot, 'log', 'agent.log');
    // setsid + redirections: the agent outlives this SSH session and holds none of its streams.
    const started = await session.execScript(`setsid ${argv.map(shellQuote).join(' ')} >>${shellQuote(log)} 2>&1 </dev/null & echo $!`);
    const newPid = Number(started.trim());
    await session.writeFile(pidFile, `${newPid}\n`, 0o644);
    return `${alive ? 'restarted' : 'started'} as a supervised process (pid ${newPid}, no systemd on the node)`;
  }

  /** The synchronizers are part of the parent's code; this names the ones the node's data sync will run. */
  private listSynchronizers(): string {
    const names = this.nodes.dataSyncStepNames();
    return names.length > 0
      ? `the data-sync phase will run: ${names.join(', ')}`
      : 'no synchronizers are registered on this parent yet; the data-sync phase has nothing to push';
  }
}
