/**
 * The professionals' console at /app (console/, built by scripts/build-console.ts into
 * dist/console): a SMART app that uses the FHIR API with the user's own token, so this route
 * serves only static files. The API's policy (security-headers.ts) forbids everything; the
 * console's pages get their own strict one: scripts, styles and fetches from this origin only, no
 * inline script or style, no framing. index.html is revalidated on every load (no-cache) so a new
 * build is picked up at once; the assets carry their content hash in their name and are cached
 * for a year (RFC 9111 section 5.2.2; `immutable`, RFC 8246).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const CONSOLE_PATH = '/app';
export const CONSOLE_DIR = join(import.meta.dirname, '..', '..', 'dist', 'console');

/** No inline code, nothing from elsewhere; `img-src data:` for the charts' exported images is not needed. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface ConsoleRouteOptions {
  /** The FHIR base path (config.basePath): the console talks to the API of the server that serves it. */
  readonly basePath: string;
  readonly dir?: string;
}

const escapeAttribute = (value: string): string => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

const MISSING = `<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Schakel console</title></head>
<body><h1>De console is niet gebouwd</h1><p>The console bundle is missing: run <code>npm run build</code> (or <code>npm install</code>) and restart.</p></body></html>`;

function consoleHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CONSOLE_CSP);
}

export async function registerConsole(app: FastifyInstance, options: ConsoleRouteOptions): Promise<void> {
  const dir = options.dir ?? CONSOLE_DIR;
  const indexFile = join(dir, 'index.html');
  await app.register(async (scope) => {
    // helmet set the API's policy in onRequest; the console's replaces it for everything below /app.
    scope.addHook('onSend', async (_request, reply, payload) => {
      consoleHeaders(reply);
      return payload;
    });
    scope.get(CONSOLE_PATH, async (_request, reply) => reply.redirect(`${CONSOLE_PATH}/`, 301));
    if (!existsSync(indexFile)) {
      scope.get(`${CONSOLE_PATH}/*`, async (_request, reply) => reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(MISSING));
      return;
    }
    // The FHIR base goes into a meta element: the page finds its API without an inline script.
    const index = readFileSync(indexFile, 'utf8').replace('%FHIR_BASE%', escapeAttribute(options.basePath));
    const sendIndex = async (_request: unknown, reply: FastifyReply) => reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index);
    scope.get(`${CONSOLE_PATH}/`, sendIndex);
    scope.get(`${CONSOLE_PATH}/index.html`, sendIndex);
    await scope.register(fastifyStatic, {
      root: join(dir, 'assets'),
      prefix: `${CONSOLE_PATH}/assets/`,
      index: false,
      wildcard: true,
      cacheControl: false,
      etag: true,
      lastModified: false,
      setHeaders: (reply) => {
        reply.header('cache-control', 'public, max-age=31536000, immutable');
      },
    });
  });
}
