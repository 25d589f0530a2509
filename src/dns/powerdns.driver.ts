/**
 * The PowerDNS Authoritative instance of one node: its own config-dir, SQLite database and
 * socket-dir under the node root, listening on the node address. Zones change through the
 * built-in HTTP API, so a change is live at once and the packet cache of the zone is purged.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { DaemonDriver, DaemonProbe, DriverContext, DriverStatus } from '../agent/driver.ts';
import { dnsProbe } from '../agent/probes.ts';
import { isAlive, pidFileStatus, runningPid, stopByPidFile, waitFor } from '../agent/daemon-process.ts';
import { CommandError, run } from '../core/exec.ts';
import { FleetError, InternalError, NotFoundError, ValidationError } from '../core/errors.ts';
import { writeFileAtomic, writeIfChanged } from '../core/files.ts';
import { assertValid, checkDomain } from '../core/grammar.ts';
import { renderPowerDnsConfig, CONTROL_SOCKET_NAME } from './powerdns-config.ts';
import { absoluteName, groupIntoRrsets, planRrsetChanges, toApiRrset, type ApiRrset } from './rrset-plan.ts';
import { fromPowerDnsContent, isSupportedRecordType } from './zone-record.ts';
import { validateZoneRecords, type ZoneRecord } from '../protocol/zone-record.ts';

export interface PowerDnsDriverOptions {
  dnsPort?: number;
  apiPort?: number;
  /** Networks allowed to reach the HTTP API; the agent talks to it from the node itself. */
  apiAllowFrom?: string[];
  pdnsServerBinary?: string;
  pdnsutilBinary?: string;
  pdnsControlBinary?: string;
  sqlite3Binary?: string;
  schemaFile?: string;
}

export interface PutZoneResult {
  created: boolean;
  /** Record sets replaced or deleted (all of them when the zone was created). */
  changedRrsets: number;
}

const SCHEMA_FILE = '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql';
/** SOA timers: refresh, retry, expire, negative-answer TTL. */
const SOA_TIMERS = '10800 3600 604800 3600';

export class PowerDnsDriver implements DaemonDriver {
  readonly name = 'pdns';
  readonly configDir: string;
  readonly database: string;
  readonly socketDir: string;
  readonly pidFile: string;
  readonly apiKeyFile: string;
  readonly logFile: string;
  readonly dnsPort: number;
  readonly apiPort: number;
  private readonly apiAllowFrom: string[];
  private readonly binaries: { server: string; util: string; control: string; sqlite3: string };
  private readonly schemaFile: string;

  constructor(
    private readonly context: DriverContext,
    options: PowerDnsDriverOptions = {},
  ) {
    const { layout } = context;
    this.configDir = layout.etc('pdns');
    this.database = layout.lib('pdns', 'pdns.sqlite3');
    this.socketDir = layout.run('pdns');
    // Not pdns.pid: PowerDNS may write that name into socket-dir itself.
    this.pidFile = layout.run('pdns', 'instance.pid');
    this.apiKeyFile = layout.etc('pdns', 'api-key');
    this.logFile = layout.log('pdns');
    this.dnsPort = options.dnsPort ?? 53;
    this.apiPort = options.apiPort ?? 8081;
    this.apiAllowFrom = options.apiAllowFrom ?? ['127.0.0.0/8'];
    this.binaries = {
      server: options.pdnsServerBinary ?? 'pdns_server',
      util: options.pdnsutilBinary ?? 'pdnsutil',
      control: options.pdnsControlBinary ?? 'pdns_control',
      sqlite3: options.sqlite3Binary ?? 'sqlite3',
    };
    this.schemaFile = options.schemaFile ?? SCHEMA_FILE;
  }

  private get configFile(): string {
    return `${this.configDir}/pdns.conf`;
  }

  private get apiBase(): string {
    const host = this.context.address.includes(':') ? `[${this.context.address}]` : this.context.address;
    return `http://${host}:${this.apiPort}/api/v1/servers/localhost`;
  }

  /** The API key lives in the node root (mode 600) so it survives restarts of the agent. */
  private apiKey(): string {
    if (!existsSync(this.apiKeyFile)) writeFileAtomic(this.apiKeyFile, randomBytes(24).toString('base64url'), 0o600);
    return readFileSync(this.apiKeyFile, 'utf8').trim();
  }

  render(): string {
    return renderPowerDnsConfig({
      address: this.context.address,
      dnsPort: this.dnsPort,
      apiPort: this.apiPort,
      apiKey: this.apiKey(),
      apiAllowFrom: this.apiAllowFrom,
      database: this.database,
      socketDir: this.socketDir,
    });
  }

  async start(): Promise<void> {
    const { layout } = this.context;
    layout.ensure();
    mkdirSync(this.configDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.socketDir, { recursive: true });
    const configChanged = writeIfChanged(this.configFile, this.render(), 0o600);
    await this.ensureDatabase();
    if (runningPid(this.pidFile) !== undefined) {
      // PowerDNS reads its settings only at start-up.
      if (!configChanged) return;
      await this.stop();
    }
    const log = openSync(this.logFile, 'a');
    let pid: number | undefined;
    try {
      const child = spawn(this.binaries.server, [`--config-dir=${this.configDir}`], { detached: true, stdio: ['ignore', log, log] });
      child.unref();
      pid = child.pid;
    } finally {
      closeSync(log);
    }
    if (pid === undefined) throw new InternalError(`could not start ${this.binaries.server}`);
    writeFileAtomic(this.pidFile, `${pid}\n`);
    try {
      await waitFor(async () => !isAlive(pid) || (await this.apiReachable()), 15_000, `PowerDNS of ${this.context.address} to answer`);
    } catch (error) {
      await this.stop();
      throw error;
    }
    if (!isAlive(pid)) {
      rmSync(this.pidFile, { force: true });
      throw new InternalError(`PowerDNS of ${this.context.address} exited at start: ${this.logTail()}`);
    }
    this.context.log('pdns started', { pid, address: this.context.address });
  }

  async stop(): Promise<void> {
    await stopByPidFile(this.pidFile);
  }

  /** Checks every zone in the database; individual changes are checked with checkZone. */
  async check(): Promise<void> {
    await this.pdnsutil(['check-all-zones']);
  }

  async checkZone(domain: string): Promise<void> {
    assertValid('domain', domain, checkDomain);
    await this.pdnsutil(['check-zone', domain]);
  }

  /** Zone data is read live from the database; a reload only has to empty the caches. */
  async reload(): Promise<void> {
    if (runningPid(this.pidFile) === undefined) return;
    await run(this.binaries.control, [`--config-dir=${this.configDir}`, `--socket-dir=${this.socketDir}`, 'purge']);
  }

  async status(): Promise<DriverStatus> {
    return pidFileStatus(this.name, this.pidFile);
  }

  /** A SOA query for a name it does not serve: REFUSED is an answer, silence is not. */
  probes(): DaemonProbe[] {
    return [dnsProbe({ what: 'dns answer', host: this.context.address, port: this.dnsPort, name: 'fleetpanel-watchdog.invalid' })];
  }

  logFilePath(): string {
    return this.logFile;
  }

  async listZones(): Promise<string[]> {
    const zones = (await this.api('GET', '/zones')) as { name: string }[];
    return zones.map((zone) => zone.name.replace(/\.$/, '')).sort();
  }

  /** The records of a zone without its SOA, in Fleetpanel's form. */
  async getZone(domain: string): Promise<ZoneRecord[]> {
    assertValid('domain', domain, checkDomain);
    const zone = await this.fetchZone(domain);
    if (zone === undefined) throw new NotFoundError('zone', domain);
    return zone.rrsets.flatMap((rrset) => {
      const type = rrset.type;
      if (!isSupportedRecordType(type)) return [];
      const name = rrset.name.replace(/\.$/, '');
      return (rrset.records ?? [])
        .filter((record) => !record.disabled)
        .map((record): ZoneRecord => ({ name, type, ttl: rrset.ttl ?? 0, content: fromPowerDnsContent(type, record.content) }));
    });
  }

  /**
   * Makes the zone hold exactly `records` (besides its SOA), creating it as a Native zone when
   * missing. Everything is validated before the API is called.
   */
  async putZone(domain: string, input: unknown): Promise<PutZoneResult> {
    assertValid('domain', domain, checkDomain);
    const desired = groupIntoRrsets(validateZoneRecords(domain, input));
    const existing = await this.fetchZone(domain);
    let result: PutZoneResult;
    if (existing === undefined) {
      const primary = desired.find((rrset) => rrset.name === domain && rrset.type === 'NS')?.contents[0] ?? `ns1.${domain}.`;
      const soa: ApiRrset = {
        name: absoluteName(domain),
        type: 'SOA',
        ttl: 3600,
        records: [{ content: `${primary} hostmaster.${domain}. 1 ${SOA_TIMERS}`, disabled: false }],
      };
      await this.api('POST', '/zones', {
        name: absoluteName(domain),
        kind: 'Native',
        nameservers: [],
        soa_edit_api: 'DEFAULT',
        rrsets: [soa, ...desired.map((rrset) => toApiRrset(rrset))],
      });
      result = { created: true, changedRrsets: desired.length };
    } else {
      const changes = planRrsetChanges(existing.rrsets, desired);
      if (changes.length > 0) await this.api('PATCH', `/zones/${absoluteName(domain)}`, { rrsets: changes });
      result = { created: false, changedRrsets: changes.length };
    }
    if (result.changedRrsets > 0 || result.created) await this.checkZone(domain);
    this.context.log('zone written', { zone: domain, ...result });
    return result;
  }

  /** Removes a zone; returns false when there was none (so retrying a job step is harmless). */
  async deleteZone(domain: string): Promise<boolean> {
    assertValid('domain', domain, checkDomain);
    if ((await this.fetchZone(domain)) === undefined) return false;
    await this.api('DELETE', `/zones/${absoluteName(domain)}`);
    return true;
  }

  private async fetchZone(domain: string): Promise<{ rrsets: ApiRrset[] } | undefined> {
    try {
      return (await this.api('GET', `/zones/${absoluteName(domain)}`)) as { rrsets: ApiRrset[] };
    } catch (error) {
      // PowerDNS answers 404 for an unknown zone id, 422 in some versions.
      if (error instanceof PowerDnsApiError && (error.status === 404 || error.status === 422)) return undefined;
      throw error;
    }
  }

  private async api(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.apiBase}${path}`, {
        method,
        headers: { 'X-API-Key': this.apiKey(), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new InternalError(`PowerDNS API of ${this.context.address} unreachable: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) throw new PowerDnsApiError(method, path, response.status, text);
    return text.length > 0 ? JSON.parse(text) : undefined;
  }

  private async apiReachable(): Promise<boolean> {
    try {
      await this.api('GET', '');
      return true;
    } catch {
      return false;
    }
  }

  private async pdnsutil(args: string[]): Promise<void> {
    try {
      await run(this.binaries.util, ['--config-dir', this.configDir, ...args]);
    } catch (error) {
      if (error instanceof CommandError) {
        throw new ValidationError({ message: `pdnsutil ${args.join(' ')} failed: ${(error.stdout + error.stderr).trim()}`, details: { driver: this.name } });
      }
      throw error;
    }
  }

  /** Creates the SQLite database from the packaged schema; a half-initialised file is never left behind. */
  private async ensureDatabase(): Promise<void> {
    if (existsSync(this.database)) return;
    mkdirSync(this.context.layout.lib('pdns'), { recursive: true, mode: 0o700 });
    const partial = `${this.database}.init`;
    rmSync(partial, { force: true });
    await run(this.binaries.sqlite3, [partial], { input: readFileSync(this.schemaFile, 'utf8') });
    renameSync(partial, this.database);
  }

  private logTail(): string {
    if (!existsSync(this.logFile)) return '(no log)';
    return readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-5).join(' | ');
  }

  /** The path of the control socket, for checks of the 108-byte limit. */
  get controlSocket(): string {
    return `${this.socketDir}/${CONTROL_SOCKET_NAME}`;
  }
}

export class PowerDnsApiError extends FleetError {
  constructor(
    method: string,
    path: string,
    readonly status: number,
    body: string,
  ) {
    super(status === 422 ? 'validation' : 'internal', `PowerDNS API ${method} ${path} answered ${status}: ${body.slice(0, 300)}`, { status });
  }
}
