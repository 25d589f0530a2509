/** TCP probes for the firewall tests: a listener that accepts and closes, and a connection attempt. */
import { createServer, connect, type Server } from 'node:net';

/** Resolves 'connected', 'timeout' or the error code; deny rules reject, so nothing waits for the timeout. */
export function tryConnect(host: string, port: number, localAddress?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, localAddress, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

export function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end());
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
