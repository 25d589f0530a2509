/**
 * How every command talks to the parent and prints: one API client (URL and token from flags,
 * the environment, or the saved context), `--json` output, and a one-line reason with the exit
 * code of the error's kind on failure.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFileSync, rmSync } from 'node:fs';
import { NodeUnavailableError, ValidationError, exitCodeForKind, kindForStatus, kindOf, refusalOfKind, type ErrorKind } from '../core/errors.ts';
import { readJsonFile, writeFileAtomic } from '../core/files.ts';

export interface CliContext {
  url: string;
  token: string;
}

export function contextFile(): string {
  return process.env.FLEETPANEL_CONTEXT ?? join(homedir(), '.config', 'fleetpanel', 'context.json');
}

/** What the context file holds: `session` marks a token from `fleetpanel login`, which logout may revoke (an API token it only forgets). */
export interface SavedContext extends CliContext {
  session?: boolean;
}

export function saveContext(context: SavedContext): void {
  writeFileAtomic(contextFile(), JSON.stringify(context, null, 2) + '\n', 0o600);
}

export function savedContext(): Partial<SavedContext> {
  return readJsonFile<Partial<SavedContext>>(contextFile(), {});
}

export function forgetContext(): void {
  rmSync(contextFile(), { force: true });
}

export interface GlobalOptions {
  json?: boolean;
  url?: string;
  token?: string;
  caBundle?: string;
}

export class Cli {
  constructor(private readonly globals: () => GlobalOptions) {}

  get json(): boolean {
    return this.globals().json === true;
  }

  context(): CliContext {
    const saved = savedContext();
    const url = this.globals().url ?? process.env.FLEETPANEL_URL ?? saved.url;
    const token = this.globals().token ?? process.env.FLEETPANEL_TOKEN ?? saved.token;
    if (!url) throw new ValidationError({ message: 'no parent URL: pass --url, set FLEETPANEL_URL, or run `fleetpanel login` (or `fleetpanel demo up`)' });
    return { url: url.replace(/\/$/, ''), token: token ?? '' };
  }

  api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return this.apiAt(this.context(), method, path, body);
  }

  /** A call with these credentials instead of the ones flags, environment and saved login give. */
  async apiAt<T>({ url, token }: CliContext, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    refusePlainCredentials(url, token !== '' || path === '/api/session');
    const caBundle = this.globals().caBundle ?? process.env.FLEETPANEL_CA_BUNDLE;
    let ca: string | undefined;
    if (caBundle !== undefined) {
      try {
        ca = readFileSync(caBundle, 'utf8');
      } catch (error) {
        throw new ValidationError('--ca-bundle', `cannot read ${caBundle}: ${(error as Error).message}`);
      }
    }
    let response: { status: number; text: string };
    try {
      response = await send(method, `${url}${path}`, token, body === undefined ? undefined : JSON.stringify(body), ca);
    } catch (error) {
      throw new NodeUnavailableError({ message: `cannot reach the parent at ${url}: ${(error as Error).message}` });
    }
    const parsed = response.text ? (JSON.parse(response.text) as unknown) : undefined;
    if (response.status >= 400) {
      const payload = (parsed ?? {}) as { error?: string; message?: string };
      throw refusalOfKind((payload.error as ErrorKind) ?? kindForStatus(response.status), payload.message ?? `HTTP ${response.status}`);
    }
    return parsed as T;
  }

  /** Prints a result: JSON with --json, else the human rendering. */
  print(value: unknown, human?: (value: never) => string): void {
    if (this.json || !human) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
    else process.stdout.write(human(value as never) + '\n');
  }

  fail(error: unknown): never {
    const kind = kindOf(error);
    const message = error instanceof Error ? error.message : String(error);
    if (this.json) process.stdout.write(JSON.stringify({ error: kind, message }) + '\n');
    process.stderr.write(`fleetpanel: ${message.split('\n')[0]}\n`);
    process.exit(exitCodeForKind(kind));
  }
}

/** Loopback traffic never leaves the machine; anything else carries credentials only inside TLS. */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function refusePlainCredentials(url: string, carriesCredentials: boolean): void {
  const target = new URL(url);
  if (carriesCredentials && target.protocol === 'http:' && !isLoopback(target.hostname)) {
    throw new ValidationError('--url', `refusing to send a password or token over plain HTTP to ${target.hostname}; use the parent's https:// address`);
  }
}

/**
 * One request through Node's http/https modules. Not undici or fetch: loading either costs a
 * command more than the rest of its start (issue 10), and a command makes a call or two.
 */
async function send(method: string, url: string, token: string, body: string | undefined, ca: string | undefined): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const { request } = target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const outgoing = request(
      target,
      {
        method,
        // With a bundle, the parent's certificate must chain to it; without, to the system's CAs.
        ...(ca === undefined ? {} : { ca }),
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
        },
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export function readStdin(): string {
  try {
    return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  } catch {
    return '';
  }
}

/** Plain text table with aligned columns. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
