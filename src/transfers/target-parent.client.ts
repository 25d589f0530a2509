/**
 * The source parent's client of a target parent's import API (README.md in this folder), over
 * HTTP(S) with one of the target's admin tokens. A refusal comes back as the target's own kind
 * of error; a target that does not answer is `node_unavailable`, which a job waits out.
 */
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { NodeUnavailableError, ValidationError, kindForStatus, refusalOfKind, type FleetError } from '../core/errors.ts';
import type { MailboxDigest } from '../protocol/mail-state.ts';
import { DATABASE_SQL_TYPE, type DatabaseDigest } from '../protocol/databases.ts';
import type { ImportAnswer, MailTargetAnswer, TransferBundle, TransferCheckAnswer, WebTargetAnswer } from './transfer.schemas.ts';

const CALL_TIMEOUT_MS = 120_000;
const ARCHIVE_TIMEOUT_MS = 31 * 60_000;

export class TargetParent {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  /** One call of the target's API (subclasses add calls: the re-parent's node handover). */
  protected async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, stream?: Readable, streamType = 'application/x-tar'): Promise<T> {
    let response;
    try {
      response = await request(`${this.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(stream ? { 'content-type': streamType } : body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: stream ?? (body === undefined ? undefined : JSON.stringify(body)),
        headersTimeout: stream ? ARCHIVE_TIMEOUT_MS : CALL_TIMEOUT_MS,
        bodyTimeout: stream ? ARCHIVE_TIMEOUT_MS : CALL_TIMEOUT_MS,
      });
    } catch (error) {
      stream?.destroy();
      throw new NodeUnavailableError({ message: `the target parent ${this.url} is not reachable: ${(error as Error).message}`, details: { target: this.url } });
    }
    const text = await response.body.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = { message: text };
    }
    if (response.statusCode >= 400) {
      const payload = (parsed ?? {}) as { error?: string; message?: string; field?: string };
      // The target refusing our token is bad input here, not a failed login here: passed on as
      // 401 it would read as this parent's own session ending (the CLI's exit 3, the panel's logout).
      if (response.statusCode === 401) throw new ValidationError('token', `not valid at the target parent ${this.url} (${payload.message ?? 'refused'}); pass one of its admin API tokens`);
      const kind = (payload.error as FleetError['kind'] | undefined) ?? kindForStatus(response.statusCode);
      throw refusalOfKind(kind, `target parent ${this.url}: ${payload.message ?? `HTTP ${response.statusCode}`}`, { target: this.url, ...(payload.field ? { field: payload.field } : {}) });
    }
    return parsed as T;
  }

  check(username: string, domain: string, mailNode?: string, databases = false): Promise<TransferCheckAnswer> {
    const query = new URLSearchParams({ username, domain, ...(mailNode ? { mailNode } : {}), ...(databases ? { databases: 'true' } : {}) });
    return this.call('GET', `/api/transfers/check?${query}`);
  }

  import(bundle: TransferBundle): Promise<ImportAnswer> {
    return this.call('POST', '/api/transfers/imports', bundle);
  }

  private importPath(username: string): string {
    return `/api/transfers/imports/${encodeURIComponent(username)}`;
  }

  async underWay(username: string): Promise<boolean> {
    return (await this.call<{ underWay: boolean }>('GET', this.importPath(username))).underWay;
  }

  mailTarget(username: string): Promise<MailTargetAnswer> {
    return this.call('GET', `${this.importPath(username)}/mail-target`);
  }

  webTarget(username: string): Promise<WebTargetAnswer> {
    return this.call('GET', `${this.importPath(username)}/web-target`);
  }

  putMailbox(username: string, address: string, archive: Readable): Promise<{ placed: boolean }> {
    return this.call('PUT', `${this.importPath(username)}/mailboxes/${encodeURIComponent(address)}/archive`, undefined, archive);
  }

  putSite(username: string, archive: Readable): Promise<{ placed: boolean }> {
    return this.call('PUT', `${this.importPath(username)}/site-archive`, undefined, archive);
  }

  putDatabase(username: string, name: string, sql: Readable): Promise<{ restored: string }> {
    return this.call('PUT', `${this.importPath(username)}/databases/${encodeURIComponent(name)}/sql`, undefined, sql, DATABASE_SQL_TYPE);
  }

  databaseDigest(username: string, name: string): Promise<DatabaseDigest> {
    return this.call('GET', `${this.importPath(username)}/databases/${encodeURIComponent(name)}/digest`);
  }

  repointDatabaseHost(username: string, from: string): Promise<{ changed: boolean }> {
    return this.call('POST', `${this.importPath(username)}/database-host`, { from });
  }

  digest(username: string, address: string): Promise<MailboxDigest> {
    return this.call('GET', `${this.importPath(username)}/mailboxes/${encodeURIComponent(address)}/digest`);
  }

  finish(username: string): Promise<{ finished: string }> {
    return this.call('POST', `${this.importPath(username)}/finish`);
  }

  /** `returnTo`: this pair's mail node, where the target relays what it held for the account (and what still reaches it). */
  abort(username: string, returnTo?: string): Promise<{ removed: boolean }> {
    return this.call('DELETE', `${this.importPath(username)}${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`);
  }
}
