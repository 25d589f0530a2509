/**
 * Raw HTTP(S) requests that set the Host header and the TLS server name freely and report a
 * closed connection as a result rather than an exception, which is how nginx's 444 looks.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type ProbeResult = { kind: 'response'; status: number; body: string; headers: Record<string, unknown> } | { kind: 'closed'; error: string };

export function probe(address: string, host: string, options: { path?: string; tls?: boolean } = {}): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const common = { host: address, path: options.path ?? '/', headers: { Host: host }, agent: false as const, timeout: 5_000 };
    const handle = (response: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ kind: 'response', status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: response.headers }),
      );
      response.on('error', (error) => resolve({ kind: 'closed', error: error.message }));
    };
    const req = options.tls
      ? httpsRequest({ ...common, port: 443, servername: host, rejectUnauthorized: false }, handle)
      : httpRequest({ ...common, port: 80 }, handle);
    req.on('error', (error) => resolve({ kind: 'closed', error: error.message }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}
