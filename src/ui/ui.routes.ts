/** The web UI: one static page that uses the same API as the CLI and the automation. */
import { readFileSync } from 'node:fs';
import type { HttpApp } from '../transport/http-app.ts';

const INDEX_HTML = readFileSync(new URL('./index.html', import.meta.url), 'utf8');

export function registerUiRoutes(app: HttpApp): void {
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
      .header('x-frame-options', 'DENY')
      .send(INDEX_HTML),
  );
}
