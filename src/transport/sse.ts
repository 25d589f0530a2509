/**
 * Server-sent events on a Fastify reply: the route hands over the raw response, sends named
 * events with JSON data, and learns when the client went away. Proxies must not buffer the
 * stream (X-Accel-Buffering), and a comment line every 15 s keeps idle connections open.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface EventStream {
  send(event: string, data: unknown): void;
  readonly closed: boolean;
  /** resolves when the client disconnects or end() is called */
  readonly done: Promise<void>;
  end(): void;
}

const HEARTBEAT_MS = 15_000;

export function openEventStream(request: FastifyRequest, reply: FastifyReply): EventStream {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
  raw.write(': stream open\n\n');
  let closed = false;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    finish();
  };
  request.raw.on('close', close);
  raw.on('close', close);
  return {
    send(event, data) {
      if (!closed) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    get closed() {
      return closed;
    },
    done,
    end() {
      if (!closed) raw.end();
      close();
    },
  };
}
