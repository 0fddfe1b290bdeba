/**
 * `npm run -s token -- --as gp` prints a bearer token of a demo client (README quick start), and
 * nothing else on stdout. It does what a vendor system does (SMART Backend Services): signs a
 * client assertion, and for the user-context clients a user assertion, with the client's key from
 * DATA_DIR/demo-auth.json, and posts them to the running server's /auth/token.
 *
 *   --as <gp|physio|nurse|rehab|admin|auditor|network>   the demo client (required)
 *   --scope "<scopes>"                            default: everything the client is registered for
 *   --emergency "<reason>"                        break-the-glass (configured roles only)
 *   --url <http://localhost:8080>                 the server (default: SCHAKEL_URL or http://localhost:PORT)
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { importJWK, SignJWT, type JWK } from 'jose';
import { loadConfig } from '../src/config/config.js';
import type { DemoAuthFile } from '../src/auth/demo-clients.js';
import { demoAuthPath } from '../src/auth/setup.js';
import { CLIENT_ASSERTION_TYPE } from '../src/auth/token-endpoint.js';

async function sign(jwk: JWK, claims: Record<string, unknown>): Promise<string> {
  const alg = (jwk.alg) ?? 'ES384';
  return new SignJWT(claims).setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' }).sign(await importJWK(jwk, alg));
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { as: { type: 'string' }, scope: { type: 'string' }, emergency: { type: 'string' }, url: { type: 'string' } },
  });
  const config = loadConfig();
  const path = demoAuthPath(config);
  if (!existsSync(path)) {
    fail(`${path} does not exist: start the server once in development mode (npm start)`);
  }
  const demo = JSON.parse(readFileSync(path, 'utf8')) as DemoAuthFile;
  const client = demo.clients.find((c) => c.registration.clientId === values.as);
  if (!client) {
    fail(`--as must be one of ${demo.clients.map((c) => c.registration.clientId).join(', ')}`);
  }
  const base = (values.url ?? process.env['SCHAKEL_URL'] ?? `http://localhost:${config.port}`).replace(/\/$/, '');
  const tokenUrl = `${base}/auth/token`;
  const now = Math.floor(Date.now() / 1000);
  const clientId = client.registration.clientId;
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await sign(client.privateJwk, { iss: clientId, sub: clientId, aud: tokenUrl, iat: now, exp: now + 240, jti: randomUUID() }),
    scope: values.scope ?? client.registration.scopes.join(' '),
  });
  if (client.user) {
    const { sub, role, organization, name } = client.user;
    const emergency = values.emergency === undefined ? {} : { purpose_of_use: 'BTG', reason: values.emergency };
    form.set('user_assertion', await sign(client.privateJwk, { iss: clientId, sub, aud: tokenUrl, exp: now + 240, jti: randomUUID(), role, organization, name, ...emergency }));
  }
  const response = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  const body = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || body.access_token === undefined) {
    fail(`token request refused (${response.status}): ${body.error ?? ''} ${body.error_description ?? ''}`);
  }
  process.stdout.write(`${body.access_token}\n`);
}

main().catch((error: unknown) => fail(`npm run token failed: ${error instanceof Error ? error.message : String(error)}`));
