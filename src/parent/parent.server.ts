/**
 * The parent: the store, the CA, the services and the HTTP API (with its OpenAPI document at
 * /api/openapi.json). It is the only place users log in.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import { openStore } from '../store/database.ts';
import { CertificateAuthority } from '../transport/ca.ts';
import { createHttpApp, type HttpApp } from '../transport/http-app.ts';
import { AuthService } from '../auth/auth.service.ts';
import { NodesRepository } from '../nodes/nodes.repository.ts';
import { NodeConnections } from '../nodes/node-connections.ts';
import { NodesService } from '../nodes/nodes.service.ts';
import { createAccountServices } from '../accounts/accounts.module.ts';
import type { ParentContext } from './parent-context.ts';
import { ROUTE_MODULES } from './routes.ts';
import { SERVICE_MODULES } from './services.ts';
import { VERSION } from '../core/version.ts';

export interface ParentOptions {
  dataDir: string;
  /** postgres://… or a SQLite file path; defaults to <dataDir>/fleetpanel.sqlite */
  database?: string;
  host: string;
  port: number;
  name?: string;
  healthIntervalMs?: number;
  adminPassword?: string;
}

export interface RunningParent {
  url: string;
  app: HttpApp;
  ctx: ParentContext;
  /** The admin password, when this start created the admin login. */
  generatedAdminPassword: string | null;
  stop(): Promise<void>;
}

const PUBLIC_ROUTES = new Set(['/api/session', '/api/openapi.json', '/api/health']);

export async function startParent(options: ParentOptions): Promise<RunningParent> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore(options.database ?? join(options.dataDir, 'fleetpanel.sqlite'));
  const name = options.name ?? options.host;
  const ca = await CertificateAuthority.open(join(options.dataDir, 'ca'), name);
  const repo = new NodesRepository(store.db);
  const connections = new NodeConnections(repo, { caCertPem: ca.caCertPem, clientCertPem: ca.clientCertPem, clientKeyPem: ca.clientKeyPem });
  const nodes = new NodesService(repo, connections, ca, name, options.healthIntervalMs ?? 5000);
  const auth = new AuthService(store.db);
  const generatedAdminPassword = await auth.ensureAdmin(options.adminPassword);
  const ctx: ParentContext = { db: store.db, dialect: store.dialect, dataDir: options.dataDir, ca, auth, nodes, connections, ...createAccountServices(store.db, nodes, auth), onClose: [] };
  for (const attach of SERVICE_MODULES) await attach(ctx);
  await ctx.jobs?.start();

  const app = createHttpApp();
  await app.register(swagger, {
    openapi: {
      info: { title: 'Fleetpanel API', version: VERSION, description: 'Parent API of a Fleetpanel cluster. Authenticate with POST /api/session, then send Authorization: Bearer <token>.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]!;
    if (!path.startsWith('/api/') || PUBLIC_ROUTES.has(path)) return;
    const header = request.headers.authorization;
    request.principal = await auth.authenticate(header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined);
  });
  app.get('/api/health', { schema: { tags: ['meta'], summary: 'Liveness of the parent' } }, async () => ({ ok: true, version: VERSION }));
  for (const register of ROUTE_MODULES) register(app, ctx);
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.listen({ host: options.host, port: options.port });
  nodes.startHealthChecks();
  return {
    url: `http://${options.host}:${options.port}`,
    app,
    ctx,
    generatedAdminPassword,
    async stop() {
      nodes.stop();
      await app.close();
      for (const close of ctx.onClose) await close();
      await connections.closeAll();
      await store.close();
    },
  };
}
