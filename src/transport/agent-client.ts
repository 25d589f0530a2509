/**
 * The parent's only way to reach a node: HTTPS with mutual TLS (the parent's client certificate,
 * the agent's certificate checked against the parent's CA). Errors keep the agent's own
 * classification, so a refusal on a node reaches the user as the same kind of error.
 */
import { Agent, request } from 'undici';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Readable } from 'node:stream';
import { FleetError, NodeUnavailableError, kindForStatus, refusalOfKind } from '../core/errors.ts';
import { routePath, type AgentMethod, type AgentRoute } from '../protocol/agent-route.ts';
import { checkSchema } from '../protocol/schema-check.ts';

export interface ClientIdentity {
  caCertPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

export interface AgentEndpoint {
  alias: string;
  host: string;
  port: number;
}

/** What a call of one route takes: the path's `:name` values, and the body when the route has one. */
export type RouteInput<Body> = { params?: Readonly<Record<string, string>> } & (Body extends undefined ? { body?: undefined } : { body: Body });

/** The route's body, checked against its schema: what crosses the network is checked on both sides. */
function checkedBody<Body>(route: AgentRoute<Body, unknown>, body: Body | undefined): Body | undefined {
  if (route.body === null) return undefined;
  return checkSchema(route.body, body, { root: 'body' }) as Body;
}

export class AgentClient {
  private readonly dispatcher: Agent;

  constructor(
    readonly endpoint: AgentEndpoint,
    identity: ClientIdentity,
    private readonly timeoutMs = 30_000,
  ) {
    this.dispatcher = new Agent({
      connect: { ca: identity.caCertPem, cert: identity.clientCertPem, key: identity.clientKeyPem, servername: undefined },
      connections: 8,
      keepAliveTimeout: 10_000,
    });
  }

  get url(): string {
    return `https://${this.endpoint.host}:${this.endpoint.port}`;
  }

  /** The request under send(): private, so every call from the parent goes through the route table's body check. */
  private async call<T>(method: AgentMethod, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    let response;
    try {
      response = await request(`${this.url}${path}`, {
        method,
        dispatcher: this.dispatcher,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (error) {
      throw new NodeUnavailableError(this.endpoint.alias, (error as Error).message);
    }
    const text = await response.body.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = { message: text };
    }
    if (response.statusCode >= 400) {
      const payload = (parsed ?? {}) as { error?: string; message?: string };
      const kind = (payload.error as FleetError['kind'] | undefined) ?? kindForStatus(response.statusCode);
      throw refusalOfKind(kind, `node '${this.endpoint.alias}': ${payload.message ?? `HTTP ${response.statusCode}`}`, { node: this.endpoint.alias });
    }
    return parsed as T;
  }

  /**
   * Streams this agent's answer to GET `path` into a PUT of `toPath` on another agent, chunk by
   * chunk (a whole mailbox can be gigabytes): the parent relays, the two nodes never talk to
   * each other. Either side failing fails the relay; the receiver sees a broken stream.
   */
  async relay<T>(path: string, to: AgentClient, toPath: string, contentType: string, timeoutMs = this.timeoutMs): Promise<T> {
    const source = await this.openStream(path, timeoutMs);
    let response;
    try {
      response = await request(`${to.url}${toPath}`, {
        method: 'PUT',
        dispatcher: to.dispatcher,
        headers: { 'content-type': contentType },
        body: source,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (error) {
      source.destroy();
      throw new NodeUnavailableError(source.errored ? this.endpoint.alias : to.endpoint.alias, (error as Error).message);
    }
    const text = await response.body.text();
    if (response.statusCode >= 400) throw to.refusal(response.statusCode, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** This agent's answer to GET `path` as a stream (a mailbox archive), for a relay that leaves this parent. */
  async openStream(path: string, timeoutMs = this.timeoutMs): Promise<Readable> {
    let source;
    try {
      source = await request(`${this.url}${path}`, { method: 'GET', dispatcher: this.dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    } catch (error) {
      throw new NodeUnavailableError(this.endpoint.alias, (error as Error).message);
    }
    if (source.statusCode >= 400) throw this.refusal(source.statusCode, await source.body.text());
    return source.body;
  }

  /** PUTs a stream that came from elsewhere (another parent's relay) to `path`, chunk by chunk. */
  async putStream<T>(path: string, body: Readable, contentType: string, timeoutMs = this.timeoutMs): Promise<T> {
    let response;
    try {
      response = await request(`${this.url}${path}`, { method: 'PUT', dispatcher: this.dispatcher, headers: { 'content-type': contentType }, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    } catch (error) {
      body.destroy();
      throw new NodeUnavailableError(this.endpoint.alias, (error as Error).message);
    }
    const text = await response.body.text();
    if (response.statusCode >= 400) throw this.refusal(response.statusCode, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private refusal(status: number, text: string): FleetError {
    let payload: { error?: string; message?: string } = {};
    try {
      payload = (text ? JSON.parse(text) : {}) as typeof payload;
    } catch {
      payload = { message: text };
    }
    const kind = (payload.error as FleetError['kind'] | undefined) ?? kindForStatus(status);
    return refusalOfKind(kind, `node '${this.endpoint.alias}': ${payload.message ?? `HTTP ${status}`}`, { node: this.endpoint.alias });
  }

  /**
   * The one way the parent calls an agent route: the body is checked against the route's schema
   * before anything is sent, and a refusal comes back as the agent's own kind of error.
   */
  send<Body, Response>(route: AgentRoute<Body, Response>, input: RouteInput<Body> = {} as RouteInput<Body>, timeoutMs?: number): Promise<Response> {
    const body = checkedBody(route, input.body);
    return this.call<Response>(route.method, routePath(route, input.params), body, timeoutMs ?? route.timeoutMs ?? this.timeoutMs);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function normaliseFingerprint(value: string): string {
  return value.replace(/^sha256:/, '').replace(/:/g, '').toLowerCase();
}

/**
 * A call to an agent that is not linked yet. The agent's certificate is self-signed, so it is
 * pinned by the fingerprint the link token carries (or not checked at all with skipTlsVerify).
 */
export function pinnedCall<Body, Response>(
  host: string,
  port: number,
  route: AgentRoute<Body, Response>,
  body: Body,
  pin: { fingerprint: string } | { skipTlsVerify: true },
  identity?: ClientIdentity,
): Promise<{ status: number; body: Partial<Response> & { error?: string; message?: string }; verified: boolean }> {
  const checked = checkedBody(route, body);
  const method = route.method;
  const path = routePath(route);
  return new Promise((resolve, reject) => {
    const payload = checked === undefined ? undefined : JSON.stringify(checked);
    const req = https.request(
      {
        host,
        port,
        method,
        path,
        rejectUnauthorized: false,
        cert: identity?.clientCertPem,
        key: identity?.clientKeyPem,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
        timeout: 15_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = { message: text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as Partial<Response> & { error?: string; message?: string }, verified: 'fingerprint' in pin });
        });
      },
    );
    req.on('socket', (socket) => {
      socket.once('secureConnect', () => {
        if (!('fingerprint' in pin)) return;
        const presented = normaliseFingerprint((socket as TLSSocket).getPeerCertificate().fingerprint256 ?? '');
        if (presented !== normaliseFingerprint(pin.fingerprint)) {
          req.destroy(new Error(`the node's TLS certificate does not match the link token (got ${presented.slice(0, 16)}…); refusing to send anything`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}
