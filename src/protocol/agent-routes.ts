/**
 * Every route of the agent's API the parent calls, with its body schema and answer type: the one
 * list a reader checks to see what crosses the wire.
 */
import { Type } from '@sinclair/typebox';
import { routeWithBody, routeWithoutBody } from './agent-route.ts';
import { WordpressDatabaseHostRequest, WordpressInstallRequest, type WordpressInstallResult } from './apps.ts';
import { DomainCertificateRequest, RetainCertificatesRequest, type CertificateInstallResult, type CertificateRemoveResult, type RetainCertificatesResult } from './certificates.ts';
import { DatabaseImportRequest, DatabaseLockRequest, DatabaseUserHashRequest, DatabaseUserRequest, type DatabaseCredential, type DatabaseDigest, type DatabasesOfAccount } from './databases.ts';
import { CertificateRequest, HandoverRequest, LinkRequest, UnlinkRequest, type HandoverResponse, type HealthResponse, type HelloResponse, type ServiceStatus, type LinkResponse, type UnlinkResponse } from './link-token.ts';
import { KickRequest, MailState, MailStateChange, SyncToRequest, type HeldMailbox, type MailStateApplied, type MailboxDigest } from './mail-state.ts';
import { RolesRequest, type Role } from './roles.ts';
import { SysdataListRequest, type SysdataListResponse } from './sysdata-items.ts';
import { WebStateChange, WebStateRequest, type WebStateApplied } from './web-state.ts';
import { ZoneRecordsRequest, type ZoneRecord } from './zone-record.ts';

/** POST /v1/software/sync takes no settings: the node installs what its roles need. */
export const SoftwareSyncRequest = Type.Object({}, { additionalProperties: false });

export interface SoftwareSyncResponse {
  packages: string[];
  installed: string[];
  services: string[];
}

/** A mailbox copy takes long; the agent's own doveadm timeout (30 min) is the real bound. */
const MAILBOX_SYNC_TIMEOUT_MS = 31 * 60_000;
const SERVICE_ACTION_TIMEOUT_MS = 120_000;
/** Installing Debian packages on a fresh node takes minutes. */
const SOFTWARE_SYNC_TIMEOUT_MS = 1_200_000;
/** A database dump or import is bounded by its size, not by a plain call's time. */
const DATABASE_COPY_TIMEOUT_MS = 10 * 60_000;
/** Copying WordPress's files into a site. */
const APP_INSTALL_TIMEOUT_MS = 300_000;

export const AGENT_ROUTES = {
  hello: routeWithoutBody<HelloResponse>()('GET', '/v1/hello'),
  link: routeWithBody<LinkResponse>()('POST', '/v1/link', LinkRequest),
  installCertificate: routeWithBody<{ ok: boolean }>()('PUT', '/v1/tls/certificate', CertificateRequest),
  health: routeWithoutBody<HealthResponse>()('GET', '/v1/health'),
  /** The cheapest authenticated call (benchmarks time it). */
  ping: routeWithoutBody<{ pong: boolean }>()('GET', '/v1/ping'),
  roles: routeWithBody<{ roles: Role[] }>()('PUT', '/v1/roles', RolesRequest),
  softwareSync: routeWithBody<SoftwareSyncResponse>()('POST', '/v1/software/sync', SoftwareSyncRequest, SOFTWARE_SYNC_TIMEOUT_MS),
  unlink: routeWithBody<UnlinkResponse>()('POST', '/v1/unlink', UnlinkRequest),
  handover: routeWithBody<HandoverResponse>()('POST', '/v1/handover', HandoverRequest),
  services: routeWithoutBody<{ services: ServiceStatus[] }>()('GET', '/v1/services'),
  /** :action is start, stop or restart; a daemon may take its time to stop or come up. */
  serviceAction: routeWithoutBody<ServiceStatus>()('POST', '/v1/services/:name/:action', SERVICE_ACTION_TIMEOUT_MS),

  mailState: routeWithBody<MailStateApplied>()('PUT', '/v1/mail/state', MailState),
  mailStateChange: routeWithBody<MailStateApplied>()('PATCH', '/v1/mail/state', MailStateChange),
  mailKick: routeWithBody<{ kicked: number }>()('POST', '/v1/mail/kick', KickRequest),
  heldMailboxes: routeWithoutBody<{ domain: string; mailboxes: HeldMailbox[] }>()('GET', '/v1/mail/mailboxes?domain=:domain'),
  mailboxDigest: routeWithoutBody<MailboxDigest>()('GET', '/v1/mail/mailboxes/:address/digest'),
  mailboxSyncTo: routeWithBody<{ synced: string; to: string }>()('POST', '/v1/mail/mailboxes/:address/sync-to', SyncToRequest, MAILBOX_SYNC_TIMEOUT_MS),
  removeMailbox: routeWithoutBody<{ removed: string }>()('DELETE', '/v1/mail/mailboxes/:address'),
  doveadmPassword: routeWithoutBody<{ password: string }>()('GET', '/v1/mail/doveadm-password'),

  webmailRefresh: routeWithoutBody<unknown>()('POST', '/v1/webmail/refresh'),

  webState: routeWithBody<WebStateApplied>()('PUT', '/v1/web/state', WebStateRequest),
  webStateChange: routeWithBody<WebStateApplied>()('PATCH', '/v1/web/state', WebStateChange),
  removeWebAccount: routeWithoutBody<{ removed: string }>()('DELETE', '/v1/web/accounts/:account'),

  dnsZones: routeWithoutBody<{ zones: string[] }>()('GET', '/v1/dns/zones'),
  dnsZone: routeWithoutBody<{ domain: string; records: ZoneRecord[] }>()('GET', '/v1/dns/zones/:domain'),
  putDnsZone: routeWithBody<unknown>()('PUT', '/v1/dns/zones/:domain', ZoneRecordsRequest),
  removeDnsZone: routeWithoutBody<{ removed: boolean }>()('DELETE', '/v1/dns/zones/:domain'),

  sysdataList: routeWithoutBody<SysdataListResponse>()('GET', '/v1/sysdata/:type'),
  putSysdataList: routeWithBody<SysdataListResponse>()('PUT', '/v1/sysdata/:type', SysdataListRequest),

  databasesOfAccount: routeWithoutBody<DatabasesOfAccount>()('GET', '/v1/databases/:account'),
  dropDatabaseAccount: routeWithoutBody<unknown>()('DELETE', '/v1/databases/:account'),
  createDatabase: routeWithoutBody<{ created: string }>()('PUT', '/v1/databases/:account/databases/:name'),
  dropDatabase: routeWithoutBody<{ dropped: string }>()('DELETE', '/v1/databases/:account/databases/:name'),
  dumpDatabase: routeWithoutBody<{ sql: string }>()('GET', '/v1/databases/:account/databases/:name/dump', DATABASE_COPY_TIMEOUT_MS),
  importDatabase: routeWithBody<{ imported: string }>()('PUT', '/v1/databases/:account/databases/:name/import', DatabaseImportRequest, DATABASE_COPY_TIMEOUT_MS),
  setDatabaseUser: routeWithBody<{ user: string }>()('PUT', '/v1/databases/:account/users/:user', DatabaseUserRequest),
  dropDatabaseUser: routeWithoutBody<{ dropped: string }>()('DELETE', '/v1/databases/:account/users/:user'),
  grantDatabase: routeWithoutBody<{ user: string; database: string }>()('PUT', '/v1/databases/:account/users/:user/grants/:database'),
  /** Transfers: the users' hashes out, the same hashes in, writers locked out while the copy is taken, and the copy compared. */
  databaseCredentials: routeWithoutBody<{ users: DatabaseCredential[] }>()('GET', '/v1/databases/:account/credentials'),
  setDatabaseUserHash: routeWithBody<{ user: string }>()('PUT', '/v1/databases/:account/users/:user/hash', DatabaseUserHashRequest),
  lockDatabaseUsers: routeWithBody<{ users: string[] }>()('POST', '/v1/databases/:account/lock', DatabaseLockRequest),
  databaseDigest: routeWithoutBody<DatabaseDigest>()('GET', '/v1/databases/:account/databases/:name/digest', DATABASE_COPY_TIMEOUT_MS),

  installDomainCertificate: routeWithBody<CertificateInstallResult>()('PUT', '/v1/certificates/:domain', DomainCertificateRequest),
  removeDomainCertificate: routeWithoutBody<CertificateRemoveResult>()('DELETE', '/v1/certificates/:domain'),
  retainDomainCertificates: routeWithBody<RetainCertificatesResult>()('POST', '/v1/certificates/retain', RetainCertificatesRequest),

  installWordpress: routeWithBody<WordpressInstallResult>()('PUT', '/v1/apps/wordpress/:account/:domain', WordpressInstallRequest, APP_INSTALL_TIMEOUT_MS),
  wordpressDatabaseHost: routeWithBody<{ changed: boolean }>()('POST', '/v1/apps/wordpress/:account/:domain/database-host', WordpressDatabaseHostRequest),
} as const;
