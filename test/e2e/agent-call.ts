/**
 * Calls to a node's agent with a client certificate the test chooses (a parent's, an intruder's,
 * or none), on a fresh connection each: what the agent's mTLS takes or refuses, seen from outside
 * the parent's own AgentClient.
 */
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClientCertificate {
  cert: string;
  key: string;
}

/** What the agent answered: its status and its JSON body, of which the tests read these fields. */
export interface AgentAnswer {
  status: number;
  body: { error?: string; message?: string; linked?: boolean; token?: string };
}

/** The client certificate of the parent whose folder is `parentDir` (its CA folder holds it). */
export function parentClientCertificate(parentDir: string): ClientCertificate {
  const ca = join(parentDir, 'ca');
  return { cert: readFileSync(join(ca, 'client.crt'), 'utf8'), key: readFileSync(join(ca, 'client.key'), 'utf8') };
}

/** One request to the agent on `host` (port 7443) with `client`'s certificate, or with none. */
export function callAgentAs(host: string, method: string, path: string, body: unknown, client?: ClientCertificate): Promise<AgentAnswer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = https.request(
      {
        host,
        port: 7443,
        method,
        path,
        rejectUnauthorized: false,
        cert: client?.cert,
        key: client?.key,
        agent: false,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as AgentAnswer['body'] }));
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}
