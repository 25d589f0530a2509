/**
 * The parent: the store, the CA, the services and the HTTP API (with its OpenAPI document at
 * /api/openapi.json). It is the only place users log in. Every domain plugs in through its
 * `<domain>.parent.ts` (a build function taking only the collaborators it uses, and its routes);
 * this file is the one place that builds them in order and registers their routes.
 */
import { mkdirSync } from 'node:fs';
import type { Server as TlsServer } from 'node:tls';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../core/files.ts';
import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import { openStore, type Store } from '../store/database.ts';
import { CertificateAuthority } from '../transport/ca.ts';
import { createHttpApp, type HttpApp } from '../transport/http-app.ts';
import { startHttpsRedirect, stopHttpsRedirect } from '../transport/https-redirect.ts';
import { VERSION } from '../core/version.ts';
import type { AuthService } from '../auth/auth.service.ts';
import type { NodesService } from '../nodes/nodes.service.ts';
import type { NodeConnections } from '../nodes/node-connections.ts';
import type { PasswordPolicyService } from '../passwords/password-policy.service.ts';
import type { AccountServices } from '../accounts/accounts.parent.ts';
import type { JobEngine } from '../jobs/job-engine.ts';
import type { SysdataService } from '../sysdata/sysdata.service.ts';
import type { MailService } from '../mail/mail.service.ts';
import type { MailStatePusher } from '../mail/mail-state-pusher.ts';
import type { WebService } from '../web/web.service.ts';
import type { DnsService } from '../dns/dns.service.ts';
import type { DistributionService } from '../distribution/distribution.service.ts';
import { buildAuth, registerAuthRoutes } from '../auth/auth.parent.ts';
import { bearerToken } from '../auth/guards.ts';
import { buildNodes, registerNodeRoutes } from '../nodes/nodes.parent.ts';
import { buildPasswordPolicy, registerPasswordPolicyRoutes } from '../passwords/password-policy.parent.ts';
import { buildAccounts, registerAccountRoutes } from '../accounts/accounts.parent.ts';
import { buildJobs, registerJobRoutes } from '../jobs/jobs.parent.ts';
import { buildSysdata, registerSysdataRoutes } from '../sysdata/sysdata.parent.ts';
import { buildMail, registerMailRoutes } from '../mail/mail.parent.ts';
import { buildWeb, registerWebRoutes } from '../web/web.parent.ts';
import { buildWebmail, webmailAgentsOver } from '../webmail/webmail.parent.ts';
import { buildDns, registerDnsRoutes } from '../dns/dns.parent.ts';
import { buildDistribution, registerDistributionRoutes } from '../distribution/distribution.parent.ts';
import { buildDatabases, registerDatabaseRoutes } from '../databases/databases.parent.ts';
import { buildApps, registerAppsRoutes } from '../apps/apps.parent.ts';
import { registerUiRoutes } from '../ui/ui.routes.ts';
import { buildNotifications, registerNotificationRoutes } from '../notifications/notifications.parent.ts';
import type { NotificationsService } from '../notifications/notifications.service.ts';
import { buildMetrics, registerMetricsRoutes } from '../metrics/metrics.parent.ts';
import { buildCertificates, registerCertificateRoutes } from '../certificates/certificates.parent.ts';
import type { CertificatesService } from '../certificates/certificates.service.ts';
import { buildTransfers, registerTransferRoutes, type TransferServices } from '../transfers/transfers.parent.ts';
import { buildReparent, registerReparentRoutes } from '../reparent/reparent.parent.ts';
import { buildOverview, registerOverviewRoutes } from '../overview/overview.parent.ts';

export interface ParentOptions {
  dataDir: string;
  /** postgres://… or a SQLite file path; defaults to <dataDir>/fleetpanel.sqlite */
  database?: string;
  host: string;
  port: number;
  name?: string;
  healthIntervalMs?: number;
  adminPassword?: string;
  /** ACME directory for account certificates until the admin stores one; null or omitted: self-signed only */
  acmeDirectory?: string | null;
  /**
   * The parent's own host name: the API and UI are served over HTTPS on httpsPort with a
   * certificate for that name (self-signed, then ordered over ACME like an account's), and plain
   * HTTP on `port` only redirects there. Omitted: plain HTTP on `port` (loopback, tests, demo).
   */
  hostname?: string;
  /** default 8443: the parent's own node serves its accounts' sites on 443 */
  httpsPort?: number;
}

/** Every service the parent built; the tests reach into them too. */
export interface ParentServices extends AccountServices {
  db: Store;
  auth: AuthService;
  nodes: NodesService;
  connections: NodeConnections;
  passwords: PasswordPolicyService;
  jobs: JobEngine;
  sysdata: SysdataService;
  mail: MailService;
  mailStates: MailStatePusher;
  web: WebService;
  dns: DnsService;
  distribution: DistributionService;
  notifications: NotificationsService;
  certificates: CertificatesService;
  transfers: TransferServices;
}

export interface RunningParent {
  url: string;
  app: HttpApp;
  services: ParentServices;
  /** The admin password, when this start created the admin login. */
  generatedAdminPassword: string | null;
  stop(): Promise<void>;
}

function writePublicFile(file: string, content: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  writeFileAtomic(file, content, 0o644);
}

/** What answers without a token, by method: logging in does, logging out (DELETE /api/session) needs the token it revokes. */
const PUBLIC_ROUTES = new Set(['POST /api/session', 'GET /api/openapi.json', 'GET /api/health']);

export async function startParent(options: ParentOptions): Promise<RunningParent> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore(options.database ?? join(options.dataDir, 'fleetpanel.sqlite'));
  const name = options.name ?? options.host;
  const ca = await CertificateAuthority.open(join(options.dataDir, 'ca'), name);
  const db = store.db;
  /** Run when the parent stops (timers, pools), in the order the services were built. */
  const closers: (() => Promise<void> | void)[] = [];
  const onClose = (close: () => Promise<void> | void): void => void closers.push(close);

  const { nodes, connections, nodeServices, handover } = buildNodes({ db, ca, parentName: name, healthIntervalMs: options.healthIntervalMs ?? 5000 });
  const auth = buildAuth({ db });
  const generatedAdminPassword = await auth.ensureAdmin(options.adminPassword);
  const passwords = buildPasswordPolicy({ db, nodes });
  const { accounts, plans, resellers, workloads } = buildAccounts({ db, auth, passwords, nodes });
  // First among the domains: those built after it register their job types on it.
  const jobs = buildJobs({ db, onClose });
  const sysdata = buildSysdata({ db, nodes, connections, onClose });
  const { mail, mailStates } = buildMail({ db, accounts, passwords, workloads, nodes, connections });
  const web = buildWeb({ db, workloads, nodes, connections });
  // After mail and web: it forwards a child's webmail host through the parent's nginx.
  buildWebmail({ mail: mailStates, web, agents: webmailAgentsOver(connections) });
  const dns = buildDns({ db, accounts, workloads, nodes, connections });
  const databases = buildDatabases({ db, accounts, passwords, connections });
  const apps = buildApps({ db, accounts, databases, connections });
  // After mail and DNS, whose services it moves accounts between.
  const distribution = buildDistribution({ db, jobs, mailStates, dns, nodes, connections, onClose });
  // After the job engine and DNS: an order is a job, and its challenge records live in the zone.
  const { certificates, panel, placement: certificatePlacement } = buildCertificates({
    db,
    dataDir: options.dataDir,
    defaultDirectoryUrl: options.acmeDirectory ?? null,
    jobs,
    accounts,
    dns,
    nodes,
    connections,
    onClose,
    panelHostname: options.hostname ?? null,
  });
  // After accounts, mail, web and DNS: an import sets up the account's workloads on this pair.
  const transfers = buildTransfers({ db, parentName: name, accounts, workloads, mailStates, web, connections, jobs, certificates: certificatePlacement });
  // After distribution and transfers: each account of the node goes through the new parent's
  // import, or (--via-dedistribution) through their jobs.
  const reparent = buildReparent({ db, jobs, nodes, handover, accounts, mailStates, web, distribution, transfers: transfers.transfers, databases: transfers.databases });
  // Last: it watches the nodes, jobs and system data the others built.
  const notifications = buildNotifications({ db, nodes, jobs, sysdata, parentName: name, onClose });
  certificates.observeExpiry((checked) => notifications.certificatesChecked(checked));
  const services: ParentServices = { db, auth, nodes, connections, passwords, accounts, plans, resellers, workloads, jobs, sysdata, mail, mailStates, web, dns, distribution, certificates, notifications, transfers };
  // Started once every domain has registered its job types, so its start-up check sees them all.
  await jobs.start();

  const served = panel && (await panel.serving());
  const app = served ? createHttpApp({ https: { key: served.keyPem, cert: served.certPem } }) : createHttpApp();
  // The serving chain (never the key) also lies in the data folder: while it is self-signed, it is
  // what a client passes as --ca-bundle.
  const chainFile = join(options.dataDir, 'https', 'panel.pem');
  if (served) writePublicFile(chainFile, served.certPem);
  // A renewed panel certificate serves from the next handshake on; open connections keep theirs.
  panel?.onServing(({ certPem, keyPem }) => {
    (app.server as unknown as TlsServer).setSecureContext({ key: keyPem, cert: certPem });
    writePublicFile(chainFile, certPem);
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Fleetpanel API', version: VERSION, description: 'Parent API of a Fleetpanel cluster. Authenticate with POST /api/session, then send Authorization: Bearer <token>.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]!;
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    if (!path.startsWith('/api/') || PUBLIC_ROUTES.has(`${method} ${path}`)) return;
    request.principal = await auth.authenticate(bearerToken(request.headers.authorization));
  });
  app.get('/api/health', { schema: { tags: ['meta'], summary: 'Liveness of the parent', response: { 200: Type.Object({ ok: Type.Boolean(), version: Type.String() }) } } }, async () => ({ ok: true, version: VERSION }));
  // First: its hook times every route registered after it.
  registerMetricsRoutes(app, buildMetrics({ db, nodes, jobs, sysdata }));
  registerAuthRoutes(app, auth);
  registerNodeRoutes(app, { nodes, nodeServices, handover, dataDir: options.dataDir });
  registerJobRoutes(app, jobs);
  registerAccountRoutes(app, { accounts, plans, resellers });
  registerPasswordPolicyRoutes(app, { passwords, accounts });
  registerUiRoutes(app);
  registerSysdataRoutes(app, sysdata);
  registerDnsRoutes(app, dns);
  registerMailRoutes(app, mail);
  registerWebRoutes(app, { web, accounts });
  registerDistributionRoutes(app, distribution);
  registerDatabaseRoutes(app, databases);
  registerAppsRoutes(app, apps);
  registerNotificationRoutes(app, notifications);
  registerCertificateRoutes(app, certificates, panel);
  registerTransferRoutes(app, transfers);
  registerReparentRoutes(app, reparent);
  registerOverviewRoutes(app, buildOverview({ nodes, jobs, sysdata, accounts }));
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const httpsPort = options.httpsPort ?? 8443;
  await app.listen({ host: options.host, port: panel ? httpsPort : options.port });
  const redirect = panel && (await startHttpsRedirect({ host: options.host, port: options.port, httpsOrigin: `https://${panel.hostname}${httpsPort === 443 ? '' : `:${httpsPort}`}` }));
  nodes.startHealthChecks();
  return {
    url: panel ? `https://${options.host}:${httpsPort}` : `http://${options.host}:${options.port}`,
    app,
    services,
    generatedAdminPassword,
    async stop() {
      nodes.stop();
      if (redirect) await stopHttpsRedirect(redirect);
      await app.close();
      for (const close of closers) await close();
      await connections.closeAll();
      await store.close();
    },
  };
}
