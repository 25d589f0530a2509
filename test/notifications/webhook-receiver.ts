/**
 * An admin's webhook endpoint on loopback, for the tests of notifications: an HTTP server that
 * answers every delivery 204 and hands its JSON body to the test with whether its signature
 * checks out against the webhook's secret at the moment it arrived.
 */
import { createServer } from 'node:http';
import { verify, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../src/notifications/signature.ts';

export interface WebhookReceiver {
  /** The address to give the panel as its webhook. */
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on `host` (a port the system picks) until close(). */
export async function startWebhookReceiver(host: string, secret: string, onDelivery: (body: unknown, signedOk: boolean) => void): Promise<WebhookReceiver> {
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    request.on('end', () => {
      const signedOk = verify(secret, Number(request.headers[TIMESTAMP_HEADER]), text, String(request.headers[SIGNATURE_HEADER]), Math.floor(Date.now() / 1000));
      onDelivery(JSON.parse(text) as unknown, signedOk);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://${host}:${port}/hooks/fleetpanel`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
