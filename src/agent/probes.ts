/**
 * Protocol probes: does the daemon answer as a client would see it? A PID that is alive says
 * nothing about a master stopped with SIGSTOP or wedged on a lock, so the watchdog also asks each
 * daemon the first question of its protocol. The probes here know protocols, not workloads; each
 * driver picks the ones that fit its daemon (and a later workload adds its own DaemonProbe).
 */
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { Resolver } from 'node:dns/promises';
import type { DaemonProbe } from './driver.ts';

function withDeadline<T>(timeoutMs: number, what: string, start: (fail: (error: Error) => void) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
    start(fail).then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: Error) => fail(error),
    );
  });
}

export interface GreetingProbeOptions {
  /** what the check is called in the daemon's status, e.g. 'imap greeting' */
  what: string;
  host: string;
  /** a TCP port, or the path of a UNIX socket */
  port: number | string;
  /** the first line a healthy daemon sends (e.g. /^\* OK/ for IMAP); omitted: accepting the connection is enough */
  expect?: RegExp;
  /** said before hanging up, so the daemon logs a polite goodbye rather than a lost connection */
  bye?: string;
}

/** Connects and waits for the greeting line (SMTP 220, IMAP * OK, POP3 +OK). */
export function greetingProbe(options: GreetingProbeOptions): DaemonProbe {
  return {
    what: options.what,
    run: (timeoutMs) => {
      let socket: Socket | undefined;
      return withDeadline(timeoutMs, options.what, async (fail) => {
        await new Promise<void>((resolve, reject) => {
          socket = typeof options.port === 'string' ? connect(options.port) : connect({ host: options.host, port: options.port });
          socket.once('error', (error) => {
            reject(error);
            fail(error);
          });
          if (!options.expect) {
            socket.once('connect', () => resolve());
            return;
          }
          let received = '';
          socket.on('data', (chunk: Buffer) => {
            received += chunk.toString('latin1');
            const newline = received.indexOf('\n');
            if (newline < 0) return;
            const line = received.slice(0, newline).trim();
            if (options.expect!.test(line)) resolve();
            else reject(new Error(`${options.what}: unexpected greeting '${line.slice(0, 120)}'`));
          });
          socket.once('end', () => reject(new Error(`${options.what}: closed before greeting`)));
        });
      }).finally(() => {
        if (socket && !socket.destroyed) {
          if (options.bye && socket.writable) socket.end(options.bye);
          else socket.destroy();
          // A daemon that never reads our goodbye must not keep the socket open.
          setTimeout(() => socket?.destroy(), 1000).unref();
        }
      });
    },
  };
}

/**
 * Any HTTP answer counts (a 404 for an unknown host is an nginx that works), and so does the
 * server closing the connection it accepted: nginx answers a host it does not serve with 444,
 * a close without a response. A wedged server neither answers nor closes, and times out.
 */
export function httpProbe(options: { what: string; host: string; port: number; path?: string }): DaemonProbe {
  return {
    what: options.what,
    run: (timeoutMs) =>
      withDeadline(
        timeoutMs,
        options.what,
        () =>
          new Promise<void>((resolve, reject) => {
            const req = request({ host: options.host, port: options.port, path: options.path ?? '/', method: 'HEAD', headers: { host: 'fleetpanel-watchdog.invalid' }, agent: false }, (res) => {
              res.resume();
              resolve();
            });
            req.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve() : reject(error)));
            req.setTimeout(timeoutMs, () => req.destroy(new Error(`${options.what}: no answer within ${timeoutMs} ms`)));
            req.end();
          }),
      ),
  };
}

/** DNS answer codes that prove a server that reads and answers queries. */
const ANSWERED = new Set(['ENOTFOUND', 'ENODATA', 'EREFUSED', 'ESERVFAIL', 'ENOTIMP', 'EFORMERR', 'EBADRESP']);

/** A SOA query; any answer, even NXDOMAIN or REFUSED, shows the server is serving. */
export function dnsProbe(options: { what: string; host: string; port: number; name: string }): DaemonProbe {
  return {
    what: options.what,
    run: async (timeoutMs) => {
      const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
      resolver.setServers([options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`]);
      try {
        await withDeadline(timeoutMs + 500, options.what, () => resolver.resolveSoa(options.name));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== undefined && ANSWERED.has(code)) return;
        throw error;
      } finally {
        resolver.cancel();
      }
    },
  };
}
