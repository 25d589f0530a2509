/**
 * The plain-HTTP side of an HTTPS-only server: every request, whatever its method or path, is
 * answered with a permanent redirect to the same path at the HTTPS address, and nothing else
 * (no API call, no login) is served over plain HTTP.
 */
import { createServer, type Server } from 'node:http';

export interface HttpsRedirectOptions {
  host: string;
  port: number;
  /** the HTTPS origin requests go to, e.g. https://panel.example.com:8443 */
  httpsOrigin: string;
}

export async function startHttpsRedirect(options: HttpsRedirectOptions): Promise<Server> {
  const server = createServer((request, response) => {
    request.resume();
    // 308 keeps the method and body of a POST; browsers and clients treat it as permanent like 301.
    const status = request.method === 'GET' || request.method === 'HEAD' ? 301 : 308;
    response.writeHead(status, { location: `${options.httpsOrigin}${request.url ?? '/'}`, 'content-length': '0', connection: 'close' });
    response.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

export function stopHttpsRedirect(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
