/**
 * Server-sent events from the parent, read with fetch so the bearer token travels in the
 * Authorization header as on every other call (EventSource cannot send headers, and a token in
 * a URL ends up in logs and history). The stream ends when the parent closes it (a job that
 * settled) or when the caller aborts (the page went away).
 */
import { token } from '../session.ts';

export interface LiveMessage {
  event: string;
  data: unknown;
}

export async function followStream(path: string, onMessage: (message: LiveMessage) => void, signal: AbortSignal): Promise<void> {
  const response = await fetch(path, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token() ?? ''}` }, signal });
  if (!response.ok || !response.body) throw new Error(`live stream ${path}: HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) onMessage({ event, data: JSON.parse(data.join('\n')) as unknown });
    }
  }
}

/** Follows a stream again after a dropped connection, until aborted or the server ends it. */
export function follow(path: string, onMessage: (message: LiveMessage) => void): () => void {
  const controller = new AbortController();
  void (async () => {
    for (let attempt = 0; !controller.signal.aborted && attempt < 20; attempt++) {
      try {
        await followStream(path, onMessage, controller.signal);
        return;
      } catch {
        if (controller.signal.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  })();
  return () => controller.abort();
}
