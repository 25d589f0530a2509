/**
 * A whole cluster on one machine: a parent and its own node on one loopback address, child
 * nodes on the next ones, each node with its own root folder. `fleetpanel demo` and the
 * end-to-end tests both use it, so the tests exercise exactly what a person runs.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { writeFileAtomic, readJsonFile } from '../core/files.ts';
import { runningPid, startBackground, startCliBackground, stopByPidFile } from './processes.ts';
import { waitFor } from '../agent/daemon-process.ts';
import { NodeLayout } from '../agent/node-layout.ts';
import { AGENT_MODULES } from '../node-agent/agent.main.ts';
import { teardownContext } from '../agent/agent-module.ts';
import type { Role } from '../protocol/roles.ts';
import type { NodeView } from '../nodes/node.model.ts';
import { agentPidFile, supervisedAgentArgv } from '../nodes/agent-install-layout.ts';
import { ensureAdminKey, startChildSshd } from './child-sshd.ts';
import { pebbleIssuingRoot, startPebble, stopPebble } from './pebble.ts';

export interface ChildSpec {
  alias: string;
  address: string;
  roles: Role[];
  /** token: agent started by hand and linked with its token; ssh: installed by the parent over SSH */
  link: 'token' | 'ssh';
}

export interface ClusterSpec {
  dir: string;
  parentAddress: string;
  parentAlias?: string;
  apiPort?: number;
  children: ChildSpec[];
  /** roles of the parent's own node (default mail, web and DNS) */
  parentRoles?: Role[];
  healthIntervalMs?: number;
  adminPassword?: string;
  database?: string;
  /** Run Debian's pebble beside the parent and order account certificates from it (DNS-01 against the parent's PowerDNS). */
  acme?: boolean;
  /**
   * A second, independent parent/child pair on the same machine (its own parent, store, CA and
   * children, in `<dir>/pair2`), started after this one: what account transfers and re-parenting
   * move things to. Same health interval as this pair; always SQLite; no pebble.
   */
  secondPair?: PairSpec;
  /** lifetime of the certificates pebble issues, in seconds (default: pebble's five years) */
  acmeCertificateValiditySeconds?: number;
}

/** The second pair of a cluster: its parent's address and alias, and its children. */
export interface PairSpec {
  parentAddress: string;
  parentAlias?: string;
  apiPort?: number;
  parentRoles?: Role[];
  children: ChildSpec[];
}

export interface ClusterInfo {
  url: string;
  username: string;
  password: string;
  token: string;
  dir: string;
  parentAddress: string;
  nodes: { alias: string; address: string; root: string; link: 'local' | 'token' | 'ssh' }[];
  /** the second pair, when the spec has one */
  second?: ClusterInfo;
}

export const AGENT_PORT = 7443;

export class LocalCluster {
  /** The second pair's own cluster (its folder is `<dir>/pair2`), when the spec has one. */
  readonly second: LocalCluster | undefined;

  constructor(readonly spec: ClusterSpec) {
    const pair = spec.secondPair;
    this.second = pair
      ? new LocalCluster({
          dir: join(spec.dir, 'pair2'),
          parentAddress: pair.parentAddress,
          parentAlias: pair.parentAlias ?? 'parent2',
          apiPort: pair.apiPort,
          parentRoles: pair.parentRoles,
          children: pair.children,
          healthIntervalMs: spec.healthIntervalMs,
          adminPassword: spec.adminPassword,
        })
      : undefined;
  }

  get infoFile(): string {
    return join(this.spec.dir, 'cluster.json');
  }
  private pidFile(name: string): string {
    return join(this.spec.dir, 'pids', `${name}.pid`);
  }
  private logFile(name: string): string {
    return join(this.spec.dir, 'logs', `${name}.log`);
  }
  nodeRoot(alias: string): string {
    return join(this.spec.dir, 'nodes', alias);
  }
  get pebbleDir(): string {
    return join(this.spec.dir, 'pebble');
  }
  /** How the cluster's pebble runs: beside the parent, asking the parent's PowerDNS for the DNS-01 answers. */
  pebbleOptions(): Parameters<typeof startPebble>[0] {
    return {
      dir: this.pebbleDir,
      address: this.spec.parentAddress,
      dnsServer: `${this.spec.parentAddress}:53`,
      ...(this.spec.acmeCertificateValiditySeconds ? { certificateValiditySeconds: this.spec.acmeCertificateValiditySeconds } : {}),
    };
  }
  /** The root that signs what the cluster's pebble issues (new at every pebble start). */
  pebbleRoot(): Promise<string> {
    return pebbleIssuingRoot(this.pebbleDir, this.spec.parentAddress);
  }

  /** Where the parent's SSH installer puts an SSH-linked child's agent and Node runtime. */
  installDir(alias: string): string {
    return join(this.spec.dir, 'installs', alias);
  }
  private child(alias: string): ChildSpec | undefined {
    return this.spec.children.find((c) => c.alias === alias);
  }
  get url(): string {
    return `http://${this.spec.parentAddress}:${this.spec.apiPort ?? 8080}`;
  }
  get parentAlias(): string {
    return this.spec.parentAlias ?? 'parent';
  }

  info(): ClusterInfo | null {
    return readJsonFile<ClusterInfo | null>(this.infoFile, null);
  }

  /** Starts what is not running, links what is not linked, waits until every node is ready. */
  async up(log: (line: string) => void = () => undefined): Promise<ClusterInfo> {
    mkdirSync(this.spec.dir, { recursive: true, mode: 0o700 });
    // Searchable but not listable: Dovecot opens Maildirs below it as the mail user and refuses to start otherwise (mkdtemp makes 0700).
    chmodSync(this.spec.dir, 0o711);
    const passwordFile = join(this.spec.dir, 'admin-password');
    if (!existsSync(passwordFile)) writeFileAtomic(passwordFile, (this.spec.adminPassword ?? randomPassword()) + '\n', 0o600);
    const password = readFileSync(passwordFile, 'utf8').trim();

    const pebble = this.spec.acme ? await startPebble(this.pebbleOptions()) : undefined;
    if (pebble) log(`pebble (ACME test CA): ${pebble.directoryUrl}`);

    log(`parent: starting on ${this.url}`);
    this.startParent();
    await waitFor(async () => (await this.get('/api/health').catch(() => null)) !== null, 60_000, `the parent API at ${this.url}`);
    const token = await this.login(password);
    if (pebble) await this.api(token, 'PUT', '/api/ssl/ca', { directoryUrl: pebble.directoryUrl, caBundle: pebble.listenerCaPem });

    const nodes: ClusterInfo['nodes'] = [];
    const local = { alias: this.parentAlias, address: this.spec.parentAddress, roles: this.spec.parentRoles ?? (['mail', 'web', 'dns'] as Role[]), link: 'token' as const };
    for (const node of [local, ...this.spec.children]) {
      const isLocal = node === local;
      const root = this.nodeRoot(node.alias);
      nodes.push({ alias: node.alias, address: node.address, root, link: isLocal ? 'local' : node.link });
      if (node.link === 'ssh') continue;
      this.startAgent(node.alias, node.address, isLocal);
      const existing = await this.api<NodeView | null>(token, 'GET', `/api/nodes/${node.alias}`).catch(() => null);
      if (existing) continue;
      const linkToken = await this.readLinkToken(root);
      log(`${node.alias}: linking ${node.address} by token`);
      await this.api(token, 'POST', '/api/nodes/link', { alias: node.alias, host: node.address, token: linkToken, roles: node.roles, ...(isLocal ? { local: true } : {}) });
    }
    const sshChildren = this.spec.children.filter((c) => c.link === 'ssh');
    const adminKey = sshChildren.length > 0 ? await ensureAdminKey(this.spec.dir) : undefined;
    for (const child of sshChildren) {
      await startChildSshd(this.spec.dir, child.alias, child.address, this.pidFile(`sshd-${child.alias}`), this.logFile(`sshd-${child.alias}`));
      const existing = await this.api<NodeView | null>(token, 'GET', `/api/nodes/${child.alias}`).catch(() => null);
      // A node left in `installing` (a failed or interrupted installation) is installed again.
      if (existing !== null && existing.status !== 'installing') {
        // Installed earlier and stopped by `demo down`: start it as the installer did.
        this.startAgent(child.alias, child.address, false);
        continue;
      }
      log(`${child.alias}: installing ${child.address} over SSH (root@${child.address}:22)`);
      await this.api(token, 'POST', '/api/nodes/add', {
        alias: child.alias,
        ssh: { host: child.address, port: 22, username: 'root', privateKey: adminKey!.privateKey },
        roles: child.roles,
        nodeRoot: this.nodeRoot(child.alias),
        installDir: this.installDir(child.alias),
      });
    }
    for (const node of nodes) await this.waitReady(token, node.alias, log);
    const second = this.second ? await this.second.up((line) => log(`second pair: ${line}`)) : undefined;
    const info: ClusterInfo = { url: this.url, username: 'admin', password, token, dir: this.spec.dir, parentAddress: this.spec.parentAddress, nodes, ...(second ? { second } : {}) };
    writeFileAtomic(this.infoFile, JSON.stringify(info, null, 2), 0o600);
    return info;
  }

  /** Starts the parent process (in the background, recorded by PID); `extra` adds options to its command line. */
  startParent(extra: string[] = []): void {
    startCliBackground(this.pidFile('parent'), this.logFile('parent'), [
      'parent',
      '--data',
      join(this.spec.dir, 'parent'),
      '--listen',
      `${this.spec.parentAddress}:${this.spec.apiPort ?? 8080}`,
      '--health-interval',
      String(this.spec.healthIntervalMs ?? 5000),
      '--admin-password-file',
      join(this.spec.dir, 'admin-password'),
      '--name',
      this.parentAlias,
      ...(this.spec.database ? ['--database', this.spec.database] : []),
      // Orders go to pebble (set by up()) or nowhere: the cluster never reaches a public CA.
      '--acme-directory',
      'off',
      ...extra,
    ]);
  }

  async stopParent(): Promise<void> {
    await stopByPidFile(this.pidFile('parent'));
  }

  startAgent(alias: string, address: string, parentLocal: boolean): void {
    if (this.child(alias)?.link === 'ssh') {
      const [node, ...args] = supervisedAgentArgv(this.installDir(alias));
      startBackground(agentPidFile(this.nodeRoot(alias)), join(this.nodeRoot(alias), 'log', 'agent.log'), node!, args);
      return;
    }
    startCliBackground(this.pidFile(`agent-${alias}`), this.logFile(`agent-${alias}`), [
      'agent',
      '--supervise',
      '--root',
      this.nodeRoot(alias),
      '--address',
      address,
      '--port',
      String(AGENT_PORT),
      ...(parentLocal ? ['--parent-local'] : []),
    ]);
  }

  private agentPid(alias: string): string {
    return this.child(alias)?.link === 'ssh' ? agentPidFile(this.nodeRoot(alias)) : this.pidFile(`agent-${alias}`);
  }

  async stopAgent(alias: string): Promise<void> {
    await stopByPidFile(this.agentPid(alias));
  }

  agentRunning(alias: string): boolean {
    return runningPid(this.agentPid(alias)) !== undefined;
  }

  private async readLinkToken(root: string): Promise<string> {
    const file = new NodeLayout(root).agent('link-token.txt');
    await waitFor(() => existsSync(file), 60_000, `the agent in ${root} to print its link token`);
    return readFileSync(file, 'utf8').trim();
  }

  async waitReady(token: string, alias: string, log: (line: string) => void = () => undefined, timeoutMs = 300_000): Promise<NodeView> {
    let last = '';
    let node: NodeView | null = null;
    await waitFor(
      async () => {
        node = await this.api<NodeView>(token, 'GET', `/api/nodes/${alias}`).catch(() => null);
        const line = node ? `${node.statusLabel}${node.statusDetail ? ` (${node.statusDetail})` : ''}` : 'not registered';
        if (line !== last) log(`${alias}: ${line}`);
        last = line;
        return node?.status === 'ready';
      },
      timeoutMs,
      `node ${alias} to become ready (last: ${last})`,
    );
    return node!;
  }

  async login(password: string): Promise<string> {
    const session = await this.post<{ token: string }>('/api/session', { username: 'admin', password });
    return session.token;
  }

  /** Stops every process the cluster started: agents, daemons of every node, parent, sshd. */
  async down(): Promise<void> {
    await this.second?.down();
    const nodesDir = join(this.spec.dir, 'nodes');
    // Agents installed over SSH keep their PID in their node root, where the installer put it.
    if (existsSync(nodesDir)) for (const alias of readdirSync(nodesDir)) await stopByPidFile(agentPidFile(join(nodesDir, alias)));
    const pids = join(this.spec.dir, 'pids');
    const agentsFirst = existsSync(pids) ? readdirSync(pids).sort((a, b) => Number(b.startsWith('agent')) - Number(a.startsWith('agent'))) : [];
    for (const file of agentsFirst) await stopByPidFile(join(pids, file));
    await stopPebble(this.pebbleDir);
    if (existsSync(nodesDir)) {
      for (const alias of readdirSync(nodesDir)) {
        const layout = new NodeLayout(join(nodesDir, alias));
        const address = readJsonFile<{ address?: string }>(layout.agent('node.json'), {}).address ?? '127.0.0.1';
        for (const module of AGENT_MODULES) {
          for (const daemon of module.daemons?.(teardownContext({ layout, address, log: () => undefined })) ?? []) {
            await daemon.stop().catch(() => undefined);
          }
        }
      }
    }
  }

  async get<T>(path: string): Promise<T> {
    return this.api<T>('', 'GET', path);
  }
  async post<T>(path: string, body: unknown): Promise<T> {
    return this.api<T>('', 'POST', path, body);
  }

  async api<T>(token: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const response = await request(`${this.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (response.statusCode >= 400) {
      const error = new Error(`${method} ${path}: HTTP ${response.statusCode} ${(parsed as { message?: string })?.message ?? text}`) as Error & { status: number; body: unknown };
      error.status = response.statusCode;
      error.body = parsed;
      throw error;
    }
    return parsed as T;
  }
}

function randomPassword(): string {
  return `fp-${Math.random().toString(36).slice(2, 10)}${Math.random().toString(36).slice(2, 10)}`;
}
