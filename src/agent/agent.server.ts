/**
 * The node agent: an HTTPS server that obeys only its parent. Every route except the link
 * handshake requires a client certificate issued by the parent's CA; there are no user logins
 * and no user API here, users always go through the parent.
 */
import type { TLSSocket } from 'node:tls';
import { NodeLayout } from './node-layout.ts';
import { LinkState } from './link-state.ts';
import { createHttpApp, type HttpApp } from '../transport/http-app.ts';
import { ConflictError, ForbiddenError, UnauthenticatedError } from '../core/errors.ts';
import { readJsonFile, writeFileAtomic } from '../core/files.ts';
import { issuedBy, publicKeyOf } from '../transport/ca.ts';
import { ROLE_PACKAGES, RolesRequest, type Role } from '../protocol/roles.ts';
import { CertificateRequest, HandoverRequest, LinkRequest, UnlinkRequest, type HandoverResponse, type HelloResponse, type LinkResponse, type UnlinkResponse } from '../protocol/link-token.ts';
import type { DaemonDriver } from './driver.ts';
import type { AgentContext, AgentModule } from './agent-module.ts';
import { ensurePackages } from './packages.ts';
import { Watchdog, watchdogSettingsFromEnv } from './watchdog.ts';
import { restartPolicyFromEnv } from './restart-policy.ts';
import { registerServiceRoutes, serviceReports } from './services.routes.ts';
import { SoftwareSyncRequest, type SoftwareSyncResponse } from '../protocol/agent-routes.ts';
import { VERSION } from '../core/version.ts';

export interface AgentOptions {
  root: string;
  address: string;
  port: number;
  /** The parent's own node: never linked to any other parent. */
  parentLocal?: boolean;
  /** Set by the SSH installer: only the parent that installed this node may link it. */
  allowedParentId?: string;
  /** the workloads this agent runs, in daemon start order (agent.main.ts holds the default list) */
  modules: AgentModule[];
  /** Serve a plain-HTTP /v1/ping on this port too (benchmarks compare it with the mTLS call). */
  plainPort?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface RunningAgent {
  url: string;
  token: string | null;
  stop(): Promise<void>;
  app: HttpApp;
}

const PUBLIC_ROUTES = new Set(['/v1/hello', '/v1/link']);

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const layout = new NodeLayout(options.root);
  layout.ensure();
  writeFileAtomic(layout.agent('node.json'), JSON.stringify({ address: options.address, port: options.port }));
  const log = options.log ?? ((message, fields) => console.log(JSON.stringify({ at: new Date().toISOString(), message, ...fields })));
  const link = new LinkState(layout, options.parentLocal ?? false);
  const serveAddress = `${options.address}:${options.port}`;
  const tls = await link.tls([options.address]);
  const modules = options.modules;
  const rolesFile = layout.agent('roles.json');
  const roles = (): Role[] => readJsonFile<Role[]>(rolesFile, []);
  const running = new Map<string, DaemonDriver>();
  const ctx: AgentContext = {
    layout,
    address: options.address,
    log,
    roles,
    daemon: <T extends DaemonDriver>(name: string) => running.get(name) as T | undefined,
    daemons: () => [...running.values()],
  };
  const stoppedFile = layout.agent('stopped-services.json');
  const watchdog = new Watchdog(() => running, watchdogSettingsFromEnv(process.env, restartPolicyFromEnv(process.env)), log, {
    has: (name) => readJsonFile<string[]>(stoppedFile, []).includes(name),
    set: (name, stopped) => {
      const others = readJsonFile<string[]>(stoppedFile, []).filter((n) => n !== name);
      writeFileAtomic(stoppedFile, JSON.stringify(stopped ? [...others, name].sort() : others));
    },
  });

  const parent = link.parent();
  const app = createHttpApp({
    strictBodies: true,
    https: {
      key: tls.keyPem,
      cert: tls.certPem,
      // Until linked there is no CA to trust; an unlinked agent serves only the public routes.
      ca: parent ? [parent.caCertPem] : undefined,
      requestCert: true,
      rejectUnauthorized: false,
    },
  });

  // A connection's handshake was checked against the CA of its moment; after a handover the old
  // parent's kept-alive connections must not outlive it, so every request checks the current CA.
  const verdicts = new WeakMap<TLSSocket, { caCertPem: string; ok: boolean }>();
  const fromCurrentParent = (socket: TLSSocket, caCertPem: string): boolean => {
    const known = verdicts.get(socket);
    if (known && known.caCertPem === caCertPem) return known.ok;
    const ok = issuedBy(socket.getPeerCertificate().raw, caCertPem);
    verdicts.set(socket, { caCertPem, ok });
    return ok;
  };

  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]!;
    if (PUBLIC_ROUTES.has(path)) return;
    if (request.headers.authorization || request.headers.cookie) {
      throw new ForbiddenError('users cannot log in on a node: log in at the parent, which proxies requests to this node');
    }
    const socket = request.raw.socket as TLSSocket;
    const linked = link.parent();
    if (!linked) throw new UnauthenticatedError('this node is not linked to a parent yet; link it with its token first');
    if (!socket.authorized) {
      const peer = socket.getPeerCertificate();
      const reason = peer && Object.keys(peer).length > 0 ? `client certificate refused (${String(socket.authorizationError)})` : 'no client certificate';
      throw new UnauthenticatedError(`this node serves only its parent (${linked.parentName}): ${reason}`);
    }
    if (!fromCurrentParent(socket, linked.caCertPem)) {
      throw new UnauthenticatedError(`this node serves only its parent (${linked.parentName}): client certificate refused (issued by another CA)`);
    }
  });

  const setSecureContext = (certPem: string, caPem: string | undefined): void => {
    (app.server as unknown as { setSecureContext(o: object): void }).setSecureContext({
      key: tls.keyPem,
      cert: certPem,
      ca: caPem ? [caPem] : undefined,
      requestCert: true,
      rejectUnauthorized: false,
    });
  };

  app.get('/v1/hello', async (): Promise<HelloResponse> => {
    const linked = link.parent();
    return { product: 'fleetpanel-agent', version: VERSION, linked: linked !== null, parentName: linked?.parentName ?? null, parentLocal: link.parentLocal };
  });

  app.post(
    '/v1/link',
    { schema: { body: LinkRequest } },
    async (request): Promise<LinkResponse> => {
      const body = request.body;
      const linked = link.parent();
      const handover = linked ? link.checkHandover(body.parentId, body.secret) : 'missing';
      if (handover === 'expired') throw new UnauthenticatedError('the handover has expired; the current parent must issue a new one');
      if (handover === 'wrong') throw new UnauthenticatedError('the handover token is wrong');
      if (linked && handover === 'ok') {
        // Handed over: the new parent's CA replaces the old one in one step, so the old parent is
        // refused from the next request on and the node never obeys both.
        link.setParent({ parentId: body.parentId, parentName: body.parentName, caCertPem: body.caCertPem, linkedAt: new Date().toISOString() });
        setSecureContext(tls.certPem, body.caCertPem);
        log('handed over to a new parent', { from: linked.parentName, parent: body.parentName });
        return { version: VERSION, publicKeyPem: publicKeyOf(tls.keyPem) };
      }
      if (linked) {
        if (linked.parentId === body.parentId) throw new ConflictError(`this node is already linked to this parent (${linked.parentName})`, { reason: 'already_linked_here' });
        if (link.parentLocal) {
          throw new ConflictError(`this node is the parent ${linked.parentName}'s own node; parents cannot be linked to each other`, { reason: 'parent_node' });
        }
        throw new ConflictError(`this node is already linked to parent ${linked.parentName}; a node takes orders from one parent only (unlink it there first)`, { reason: 'linked_elsewhere' });
      }
      if (options.allowedParentId && options.allowedParentId !== body.parentId) {
        throw new ForbiddenError('this node was installed by another parent and accepts a link only from that parent');
      }
      const verdict = link.checkToken(body.secret);
      if (verdict === 'missing') throw new UnauthenticatedError('this node has no valid link token; print a new one on the node');
      if (verdict === 'expired') throw new UnauthenticatedError('the link token has expired; print a new one on the node');
      if (verdict === 'wrong') throw new UnauthenticatedError('the link token is wrong');
      link.setParent({ parentId: body.parentId, parentName: body.parentName, caCertPem: body.caCertPem, linkedAt: new Date().toISOString() });
      setSecureContext(tls.certPem, body.caCertPem);
      log('linked to parent', { parent: body.parentName });
      return { version: VERSION, publicKeyPem: publicKeyOf(tls.keyPem) };
    },
  );

  app.put('/v1/tls/certificate', { schema: { body: CertificateRequest } }, async (request) => {
    link.installCertificate(request.body.certPem);
    tls.certPem = request.body.certPem;
    setSecureContext(tls.certPem, link.parent()?.caCertPem);
    return { ok: true };
  });

  app.get('/v1/health', async () => {
    const services = await serviceReports(running, watchdog);
    return { version: VERSION, roles: roles(), services, time: new Date().toISOString() };
  });

  app.get('/v1/ping', async () => ({ pong: true }));

  const daemonsForRoles = (assigned: Role[]): DaemonDriver[] =>
    modules.filter((m) => m.daemons && (m.role === undefined || assigned.includes(m.role))).flatMap((m) => m.daemons!(ctx));

  const startDaemons = async (): Promise<void> => {
    const wanted = daemonsForRoles(roles());
    for (const daemon of wanted) {
      // What the admin stopped stays stopped until the admin starts it.
      if (watchdog.wantsRunning(daemon.name)) await daemon.start();
      running.set(daemon.name, daemon);
    }
    for (const [name, daemon] of running) {
      if (!wanted.some((d) => d.name === name)) {
        // Out of the map first, so the watchdog does not take the stop for a crash.
        running.delete(name);
        await daemon.stop();
      }
    }
  };

  app.put('/v1/roles', { schema: { body: RolesRequest } }, async (request) => {
    writeFileAtomic(rolesFile, JSON.stringify([...new Set(request.body.roles)].sort()));
    return { roles: roles() };
  });

  app.post('/v1/software/sync', { schema: { body: SoftwareSyncRequest } }, async (): Promise<SoftwareSyncResponse> => {
    const packages = [...new Set(roles().flatMap((r) => ROLE_PACKAGES[r]))];
    const installed = await ensurePackages(packages);
    await startDaemons();
    return { packages, installed, services: [...running.keys()] };
  });

  app.post('/v1/handover', { schema: { body: HandoverRequest } }, async (request): Promise<HandoverResponse> => {
    if (link.parentLocal) throw new ConflictError("the parent's own node cannot be handed to another parent");
    const linked = link.parent();
    if (linked?.parentId === request.body.newParentId) throw new ConflictError(`this node is already linked to ${linked.parentName}`);
    const token = link.issueHandover(request.body.newParentId, request.body.newParentName, serveAddress, tls.certPem, request.body.expiresInMinutes * 60_000);
    log('handover issued', { to: request.body.newParentName });
    return { token };
  });

  app.post('/v1/unlink', { schema: { body: UnlinkRequest } }, async (request): Promise<UnlinkResponse> => {
    if (link.parentLocal) throw new ConflictError("the parent's own node cannot be unlinked");
    link.forgetParent();
    const hours = request.body.tokenExpiresInHours;
    const token = link.issueToken(serveAddress, tls.certPem, hours === null ? null : hours * 3600_000);
    setSecureContext(tls.certPem, undefined);
    log('unlinked from parent; a new link token was issued');
    return { unlinked: true, token };
  });

  for (const module of modules) module.register(app, ctx);
  registerServiceRoutes(app, running, watchdog);

  // Daemons of the roles assigned before a restart come back with the agent.
  if (link.parent()) {
    try {
      await startDaemons();
    } catch (error) {
      log('starting daemons failed', { error: (error as Error).message });
    }
  }

  watchdog.start();
  await app.listen({ host: options.address, port: options.port });
  // The token is written only once the agent listens, so whoever reads it can link at once.
  let token: string | null = null;
  if (!link.parent()) token = link.issueToken(serveAddress, tls.certPem, null);
  let plain: HttpApp | undefined;
  if (options.plainPort) {
    plain = createHttpApp();
    plain.get('/v1/ping', async () => ({ pong: true }));
    await plain.listen({ host: options.address, port: options.plainPort });
  }
  return {
    url: `https://${serveAddress}`,
    token,
    app,
    async stop() {
      watchdog.stop();
      await app.close();
      await plain?.close();
    },
  };
}

