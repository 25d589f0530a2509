/**
 * Linking nodes to this parent, bringing them up (roles -> software -> data -> ready), watching
 * their health, changing their profile, and unlinking them.
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, FleetError, NodeUnavailableError, NotFoundError, ValidationError, refusalOfKind } from '../core/errors.ts';
import { assertValid, checkAlias, checkHost } from '../core/grammar.ts';
import { pinnedCall } from '../transport/agent-client.ts';
import type { CertificateAuthority } from '../transport/ca.ts';
import { decodeLinkToken } from '../protocol/link-token.ts';
import { type Role } from '../protocol/roles.ts';
import { assertProfileAllowed, isServing, resolveProfileAndRoles, servingStatus, type ServiceView, type NodeStatus, type NodeView, type Profile } from './node.model.ts';
import { toNodeView, type NodeRow, type NodesRepository } from './nodes.repository.ts';
import type { NodeConnections } from './node-connections.ts';
import { AGENT_ROUTES } from '../protocol/agent-routes.ts';

export { DEFAULT_AGENT_PORT } from './agent-port.ts';
import { DEFAULT_AGENT_PORT } from './agent-port.ts';

/** Something the parent pushes to a node in its data-sync phase (system data, workloads). */
export interface DataSyncStep {
  readonly name: string;
  /** lower runs first */
  readonly priority: number;
  sync(node: NodeRow): Promise<void>;
}

/** What the agent's /v1/health answers. */
export interface AgentHealth {
  version: string;
  services: ServiceView[];
}

export type NodeObserver = (node: NodeView, services: ServiceView[] | null) => Promise<void> | void;

/** Tells which accounts still use a node, so it cannot be unlinked under them. */
export type NodeUsage = (node: NodeRow) => Promise<string[]>;

export interface LinkRequest {
  alias: string;
  host: string;
  token: string;
  profile?: Profile;
  roles?: Role[];
  skipTlsVerify?: boolean;
  local?: boolean;
  /** A node handed over by another parent: linked but held in `adopting` until released. */
  adopt?: boolean;
}

const BRING_UP: NodeStatus[] = ['assigning_roles', 'software_sync', 'data_sync', 'ready'];

export class NodesService {
  private readonly dataSyncSteps: DataSyncStep[] = [];
  private readonly usages: NodeUsage[] = [];
  private readonly observers: NodeObserver[] = [];
  private readonly advancing = new Set<number>();
  private healthTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly parentId: Promise<string>;

  constructor(
    private readonly repo: NodesRepository,
    private readonly connections: NodeConnections,
    private readonly ca: CertificateAuthority,
    readonly parentName: string,
    private readonly healthIntervalMs: number,
  ) {
    this.parentId = (async () => {
      const existing = await repo.getSetting('parent_id');
      if (existing) return existing;
      const id = randomUUID();
      await repo.setSetting('parent_id', id);
      return id;
    })();
  }

  addDataSyncStep(step: DataSyncStep): void {
    if (this.dataSyncSteps.some((s) => s.name === step.name)) throw new Error(`data sync step '${step.name}' is registered twice`);
    this.dataSyncSteps.push(step);
    this.dataSyncSteps.sort((a, b) => a.priority - b.priority);
  }

  addUsage(usage: NodeUsage): void {
    this.usages.push(usage);
  }

  /** Called after every health check with the node as it is now (services null: the agent did not answer). */
  addObserver(observer: NodeObserver): void {
    this.observers.push(observer);
  }

  async list(): Promise<NodeView[]> {
    return (await this.repo.list()).map(toNodeView);
  }

  async row(alias: string): Promise<NodeRow> {
    const row = await this.repo.byAlias(alias);
    if (!row) throw new NotFoundError('node', alias);
    return row;
  }

  async show(alias: string): Promise<NodeView & { events: { at: string; status: string; message: string }[] }> {
    const row = await this.row(alias);
    const events = (await this.repo.events(row.id, 20)).map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
    return { ...toNodeView(row), events };
  }

  /** Links an agent that was installed by hand and printed a link token (cPanel style). */
  async link(request: LinkRequest): Promise<NodeView> {
    assertValid('alias', request.alias, checkAlias);
    assertValid('host', request.host, checkHost);
    const decoded = decodeLinkToken(request.token);
    if (!decoded) throw new ValidationError('token', 'is not a Fleetpanel link token (copy it whole from the node)');
    const port = Number(decoded.a.split(':').pop()) || DEFAULT_AGENT_PORT;
    const { profile, roles } = resolveProfileAndRoles(request.profile, request.roles);
    assertProfileAllowed(request.local ?? false, profile);
    if (await this.repo.byAlias(request.alias)) throw new ConflictError(`the alias '${request.alias}' is already taken`);
    const same = await this.repo.byEndpoint(request.host, port);
    if (same) throw new ConflictError(`${request.host}:${port} is already linked to this parent as '${same.alias}'`);
    if (request.local && (await this.repo.list()).some((n) => n.is_local === 1)) throw new ConflictError('this parent already has its own node');

    const linked = await this.handshake(request.host, port, request.token, request.skipTlsVerify ?? false, request.alias, request.local ?? false, request.adopt ?? false);
    const row = await this.repo.insert({
      alias: request.alias,
      host: request.host,
      agentPort: port,
      profile,
      roles,
      status: request.adopt ? 'adopting' : 'assigning_roles',
      isLocal: request.local ?? false,
      fingerprint: linked.fingerprint,
      tlsVerified: linked.tlsVerified,
      agentVersion: linked.version,
    });
    if (request.adopt) {
      await this.repo.setStatus(row.id, 'adopting', `handed over by ${linked.formerParent ?? 'another parent'}; waiting for its accounts`);
      return toNodeView((await this.repo.byId(row.id))!);
    }
    await this.repo.setStatus(row.id, 'assigning_roles', `linked by token${request.skipTlsVerify ? ' (TLS not verified)' : ''}`);
    void this.advance(row.id);
    return toNodeView((await this.repo.byId(row.id))!);
  }

  /**
   * The link handshake with an unlinked agent: pinned to the fingerprint in its token, it checks
   * what the agent is (a parent's own node is refused), hands it this parent's CA, and signs the
   * agent's server certificate. Nothing is stored here.
   */
  private async handshake(
    host: string,
    port: number,
    token: string,
    skipTlsVerify: boolean,
    alias: string,
    local: boolean,
    adopt = false,
  ): Promise<{ fingerprint: string; tlsVerified: boolean; version: string | null; formerParent: string | null }> {
    const decoded = decodeLinkToken(token);
    if (!decoded) throw new ValidationError('token', 'is not a Fleetpanel link token (copy it whole from the node)');
    const pin = skipTlsVerify ? ({ skipTlsVerify: true } as const) : { fingerprint: decoded.f };
    let hello;
    try {
      hello = await pinnedCall(host, port, AGENT_ROUTES.hello, undefined, pin);
    } catch (error) {
      throw new NodeUnavailableError({ message: `cannot reach the agent at ${host}:${port}: ${(error as Error).message}` });
    }
    if (hello.body.product !== 'fleetpanel-agent') throw new ConflictError(`${host}:${port} is not a Fleetpanel agent`);
    if (hello.body.parentLocal && !local) {
      throw new ConflictError(`${host} is a parent's own node; parents cannot be linked to each other, and a parent cannot be linked to itself`);
    }
    if (local && !hello.body.parentLocal) throw new ConflictError(`the agent at ${host} does not run as the parent's own node (start it with --parent-local)`);
    if (adopt && !hello.body.linked) throw new ConflictError(`the agent at ${host} is not linked to any parent: link it with its own token instead of adopting it`);
    const parentId = await this.parentId;
    const linked = await pinnedCall(host, port, AGENT_ROUTES.link, { secret: decoded.s, parentId, parentName: this.parentName, caCertPem: this.ca.caCertPem }, pin);
    if (linked.status >= 400 || !linked.body.publicKeyPem) {
      const kind = (linked.body.error as FleetError['kind']) ?? 'conflict';
      throw refusalOfKind(kind, `the node refused to link: ${linked.body.message ?? `HTTP ${linked.status}`}`);
    }
    const certPem = await this.ca.sign(linked.body.publicKeyPem, `fleetpanel-agent ${alias}`, [host], 'server');
    const installed = await pinnedCall(host, port, AGENT_ROUTES.installCertificate, { certPem }, pin, {
      caCertPem: this.ca.caCertPem,
      clientCertPem: this.ca.clientCertPem,
      clientKeyPem: this.ca.clientKeyPem,
    });
    if (installed.status >= 400) throw new ConflictError(`the node did not take its certificate: ${installed.body.message ?? installed.status}`);
    return { fingerprint: decoded.f, tlsVerified: !skipTlsVerify, version: linked.body.version ?? null, formerParent: hello.body.parentName ?? null };
  }

  /**
   * Links an agent the SSH installer just started, with the token read over SSH. The node keeps
   * its status (installing) until the installer has finished its last step.
   */
  async linkInstalled(row: NodeRow, token: string): Promise<void> {
    const linked = await this.handshake(row.host, row.agent_port, token, false, row.alias, false);
    await this.repo.markLinked(row.id, linked.fingerprint, linked.tlsVerified, linked.version);
  }

  /** Whether this parent's client certificate is accepted by the node: it is linked to us. */
  async answersToThisParent(row: NodeRow): Promise<boolean> {
    try {
      await this.connections.forRow(row).send(AGENT_ROUTES.health, {}, 5000);
      return true;
    } catch {
      return false;
    }
  }

  /** The SSH host key a node presented when it was installed; a later `node add` must see the same. */
  async knownHostKey(alias: string): Promise<string | undefined> {
    return (await this.repo.getSetting(`ssh_host_key:${alias}`)) || undefined;
  }

  async rememberHostKey(alias: string, fingerprint: string): Promise<void> {
    await this.repo.setSetting(`ssh_host_key:${alias}`, fingerprint);
  }

  /** The data-sync steps the other domains registered, in the order they run. */
  dataSyncStepNames(): string[] {
    return this.dataSyncSteps.map((s) => s.name);
  }

  /** After installation: the normal bring-up (roles -> software -> data -> ready) takes over. */
  async finishInstall(row: NodeRow, detail: string): Promise<void> {
    await this.repo.setStatus(row.id, 'assigning_roles', detail);
    void this.advance(row.id);
  }

  /**
   * The row of a node being installed over SSH. A new alias gets a new row; the alias of an
   * earlier installation of the same host is reused, so re-running `node add` resumes it.
   */
  async registerOrResumeInstall(alias: string, host: string, profile: Profile, roles: Role[]): Promise<{ row: NodeRow; resumed: boolean }> {
    assertValid('alias', alias, checkAlias);
    assertValid('host', host, checkHost);
    assertProfileAllowed(false, profile);
    const existing = await this.repo.byAlias(alias);
    if (existing) {
      if (existing.host !== host) throw new ConflictError(`the alias '${alias}' is already taken by ${existing.host}`);
      if (existing.is_local === 1) throw new ConflictError(`'${alias}' is this parent's own node; it is never installed over SSH`);
      await this.repo.setProfile(existing.id, profile, roles);
      await this.repo.setStatus(existing.id, 'installing', 'installation in progress (repeated)');
      return { row: (await this.repo.byId(existing.id))!, resumed: true };
    }
    return { row: await this.registerInstalling(alias, host, profile, roles), resumed: false };
  }

  /** Registers a node the SSH installer is about to install, so its progress is visible. */
  async registerInstalling(alias: string, host: string, profile: Profile, roles: Role[]): Promise<NodeRow> {
    assertValid('alias', alias, checkAlias);
    assertValid('host', host, checkHost);
    if (await this.repo.byAlias(alias)) throw new ConflictError(`the alias '${alias}' is already taken`);
    const same = await this.repo.byEndpoint(host, DEFAULT_AGENT_PORT);
    if (same) throw new ConflictError(`${host} is already linked to this parent as '${same.alias}'`);
    const row = await this.repo.insert({ alias, host, agentPort: DEFAULT_AGENT_PORT, profile, roles, status: 'installing', isLocal: false, fingerprint: null, tlsVerified: false, agentVersion: null });
    await this.repo.setStatus(row.id, 'installing', 'installation in progress');
    return row;
  }

  async setStatus(row: NodeRow, status: NodeStatus, detail: string | null): Promise<void> {
    await this.repo.setStatus(row.id, status, detail);
  }

  async removeRow(row: NodeRow): Promise<void> {
    await this.repo.remove(row.id);
  }

  /** Moves a node along assigning_roles -> software_sync -> data_sync -> ready from wherever it is. */
  async advance(id: number): Promise<void> {
    if (this.advancing.has(id)) return;
    this.advancing.add(id);
    try {
      for (;;) {
        const row = await this.repo.byId(id);
        if (!row || this.stopped || !BRING_UP.includes(row.status as NodeStatus) || row.status === 'ready') return;
        const client = this.connections.forRow(row);
        try {
          if (row.status === 'assigning_roles') {
            await client.send(AGENT_ROUTES.roles, { body: { roles: [...row.roles] } });
            await this.repo.setStatus(id, 'software_sync', 'installing the packages of the roles and starting their services');
          } else if (row.status === 'software_sync') {
            await client.send(AGENT_ROUTES.softwareSync, { body: {} });
            await this.repo.setStatus(id, 'data_sync', 'synchronising system data and workloads');
          } else if (row.status === 'data_sync') {
            for (const step of this.dataSyncSteps) await step.sync(row);
            const health = await client.send(AGENT_ROUTES.health);
            await this.repo.recordCheck(id, true, health);
            // Ready only with every service up: a node whose Dovecot is down is not ready, whatever data sync did.
            const serving = servingStatus(health.services);
            await this.repo.setStatus(id, serving.status, serving.detail);
            await this.notify(id, health.services);
          }
        } catch (error) {
          // Left in its phase with the reason; the health loop tries again.
          await this.repo.setStatus(id, row.status as NodeStatus, `failed: ${(error as Error).message}`);
          return;
        }
      }
    } finally {
      this.advancing.delete(id);
    }
  }

  startHealthChecks(): void {
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      await this.checkAll().catch(() => undefined);
      if (!this.stopped) this.healthTimer = setTimeout(() => void tick(), this.healthIntervalMs);
    };
    void tick();
  }

  /** One node's health check now (after an admin's service action), instead of at the next tick. */
  async checkNow(alias: string): Promise<void> {
    await this.check(await this.row(alias));
  }

  async checkAll(): Promise<void> {
    const rows = await this.repo.list();
    await Promise.all(rows.map((row) => this.check(row)));
  }

  private async check(row: NodeRow): Promise<void> {
    const status = row.status as NodeStatus;
    if (status === 'disabled' || status === 'unlinking' || status === 'installing' || status === 'adopting') return;
    if (BRING_UP.includes(status) && !isServing(status)) {
      void this.advance(row.id);
      return;
    }
    let health: AgentHealth;
    try {
      health = await this.connections.forRow(row).send(AGENT_ROUTES.health, {}, Math.max(500, Math.min(this.healthIntervalMs, 3000)));
    } catch (error) {
      await this.repo.recordCheck(row.id, false);
      if (isServing(status)) await this.repo.setStatus(row.id, 'offline', `health check failed: ${(error as Error).message}`);
      await this.notify(row.id, null);
      return;
    }
    await this.recordRestarts(row, health.services);
    await this.repo.recordCheck(row.id, true, health);
    if (status === 'offline') {
      // Back from an outage: catch up on whatever changed while it was away before serving.
      await this.repo.setStatus(row.id, 'data_sync', 'back online; catching up');
      void this.advance(row.id);
    } else {
      const serving = servingStatus(health.services);
      // A new event only when something changed, so the history reads as what happened.
      if (serving.status !== status || serving.detail !== row.status_detail) await this.repo.setStatus(row.id, serving.status, serving.detail);
    }
    await this.notify(row.id, health.services);
  }

  /** Restarts the watchdog made since the last check go into the node's history, even when the check never saw the service down. */
  private async recordRestarts(row: NodeRow, services: ServiceView[]): Promise<void> {
    const before = new Map((JSON.parse(row.services) as ServiceView[]).map((s) => [s.name, s.restarts ?? 0]));
    for (const service of services) {
      const earlier = before.get(service.name);
      if (earlier === undefined || (service.restarts ?? 0) <= earlier) continue;
      await this.repo.addEvent(row.id, row.status, `${service.name} restarted by the watchdog${service.problem ? ` (${service.problem})` : ''}`);
    }
  }

  /** Tells the observers (notifications) what the node looks like after a check; their failures never stop the health loop. */
  private async notify(id: number, services: ServiceView[] | null): Promise<void> {
    const row = await this.repo.byId(id);
    if (!row) return;
    for (const observer of this.observers) await Promise.resolve(observer(toNodeView(row), services)).catch(() => undefined);
  }

  async setProfile(alias: string, profileValue: Profile): Promise<NodeView> {
    const row = await this.row(alias);
    assertProfileAllowed(row.is_local === 1, profileValue);
    const { profile, roles } = resolveProfileAndRoles(profileValue, undefined);
    const current = row.roles;
    const dropped = current.filter((r) => !roles.includes(r));
    if (dropped.length > 0) {
      const users = await this.usersOf(row);
      if (users.length > 0) throw new ConflictError(`node '${alias}' still serves accounts (${users.join(', ')}); move them before dropping ${dropped.join(', ')}`, { accounts: users });
    }
    await this.repo.setProfile(row.id, profile, roles);
    if (isServing(row.status) || row.status === 'offline') await this.repo.setStatus(row.id, 'assigning_roles', `profile changed to ${profile}`);
    void this.advance(row.id);
    return toNodeView((await this.repo.byId(row.id))!);
  }

  async setEnabled(alias: string, enabled: boolean): Promise<NodeView> {
    const row = await this.row(alias);
    if (enabled && row.status === 'disabled') await this.repo.setStatus(row.id, 'data_sync', 'enabled again');
    if (!enabled) await this.repo.setStatus(row.id, 'disabled', 'disabled by the admin');
    void this.advance(row.id);
    return toNodeView((await this.repo.byId(row.id))!);
  }

  /** The accounts that use the node (and mail copies it keeps, as `name (mail copy)`). */
  async usersOf(row: NodeRow): Promise<string[]> {
    const lists = await Promise.all(this.usages.map((usage) => usage(row)));
    return [...new Set(lists.flat())].sort();
  }

  async unlink(alias: string, tokenPolicy: 'leave' | 'expire-24h'): Promise<{ alias: string; token: string | null }> {
    const row = await this.row(alias);
    if (row.is_local === 1) throw new ConflictError("the parent's own node cannot be unlinked");
    const users = await this.usersOf(row);
    if (users.length > 0) throw new ConflictError(`node '${alias}' is still used by ${users.length} account(s): ${users.join(', ')}; dedistribute them first`, { accounts: users });
    await this.repo.setStatus(row.id, 'unlinking', 'unlinking');
    let token: string | null = null;
    try {
      const result = await this.connections.forRow(row).send(AGENT_ROUTES.unlink, { body: { tokenExpiresInHours: tokenPolicy === 'expire-24h' ? 24 : null } });
      token = result.token;
    } catch (error) {
      await this.repo.setStatus(row.id, row.status as NodeStatus, `unlink failed: ${(error as Error).message}`);
      throw error;
    }
    await this.repo.remove(row.id);
    // The alias may later name another machine, with another host key.
    await this.repo.setSetting(`ssh_host_key:${alias}`, '');
    return { alias, token };
  }

  stop(): void {
    this.stopped = true;
    if (this.healthTimer) clearTimeout(this.healthTimer);
  }
}
