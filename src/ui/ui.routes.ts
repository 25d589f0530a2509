/**
 * The browser panel (built from ui/ by scripts/setup.sh into ui/dist) at `/`. It is a client of
 * the same API as the CLI; these routes only hand out its files. Asset names carry a content hash,
 * so they are cached for a year; the page itself is never cached, so a rebuild shows at once.
 * Scripts and styles go out as the .br or .gz copy the build made, when the browser accepts it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { HttpApp } from '../transport/http-app.ts';

/** FLEETPANEL_UI_DIR points elsewhere when the parent runs from a compiled bundle. */
export function uiBuildDir(): string {
  return process.env.FLEETPANEL_UI_DIR ?? fileURLToPath(new URL('../../ui/dist/', import.meta.url));
}

// The bearer token lives in the page's memory, so nothing but the page's own code may run there.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function registerUiRoutes(app: HttpApp): void {
  const dir = uiBuildDir();
  const index = `${dir}/index.html`;
  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    if (!existsSync(index)) {
      return reply.status(503).type('text/plain; charset=utf-8').send('The web panel is not built; run scripts/setup.sh (it builds ui/ into ui/dist).\n');
    }
    return reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' }).type('text/html; charset=utf-8').send(readFileSync(index, 'utf8'));
  });
  app.register(fastifyStatic, {
    root: `${dir}/assets`,
    prefix: '/assets/',
    index: false,
    preCompressed: true,
    immutable: true,
    maxAge: '365d',
    setHeaders: (response) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.header(name, value);
    },
  });
}
