/**
 * /app without a built console (src/http/console-route.ts): a plain HTML page that says how to
 * build it, 503, never cached; and the console's own policy on it. The served bundle itself is
 * covered in a browser by test/console/console-pages.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import t from 'tap';
import { CONSOLE_CSP, registerConsole } from '../../src/http/console-route.js';

t.test('a missing console bundle answers a 503 HTML page', async (t) => {
  const app = Fastify();
  await registerConsole(app, { basePath: '/fhir', dir: join(mkdtempSync(join(tmpdir(), 'schakel-no-console-')), 'console') });
  t.teardown(() => app.close());
  const page = await app.inject({ method: 'GET', url: '/app/' });
  t.equal(page.statusCode, 503);
  t.match(page.headers['content-type'], /^text\/html/);
  t.equal(page.headers['cache-control'], 'no-store');
  t.equal(page.headers['content-security-policy'], CONSOLE_CSP);
  t.match(page.body, /npm run build/);
  t.notMatch(page.body, /OperationOutcome/);
  const asset = await app.inject({ method: 'GET', url: '/app/assets/main-ABC.js' });
  t.equal(asset.statusCode, 503);
  const bare = await app.inject({ method: 'GET', url: '/app' });
  t.equal(bare.statusCode, 301);
  t.equal(bare.headers.location, '/app/');
});
