/** In-process benches run as the server itself: a demo key set and a token with every scope. */
import type { FastifyInstance } from 'fastify';
import { ClientRegistry } from '../src/auth/clients.js';
import { generateDemoAuth } from '../src/auth/demo-clients.js';
import { loadSigningKey } from '../src/auth/keys.js';
import { SigningKeys } from '../src/auth/signing-keys.js';
import { serverPrincipal } from '../src/auth/principal.js';
import type { AuthSetup } from '../src/auth/service.js';

export async function benchAuth(): Promise<AuthSetup> {
  const demo = await generateDemoAuth('ES384');
  return { signingKeys: new SigningKeys(await loadSigningKey(demo.signingKey, 'ES384')), clients: new ClientRegistry(demo.clients.map((c) => c.registration)) };
}

const tokens = new WeakMap<FastifyInstance, Promise<string>>();

/** One token per app: signing it is not what a bench measures. */
export function benchToken(app: FastifyInstance): Promise<string> {
  let token = tokens.get(app);
  if (!token) {
    token = app.auth.tokens.issue(serverPrincipal('bench')).then((issued) => `Bearer ${issued.token}`);
    tokens.set(app, token);
  }
  return token;
}
