/**
 * Loads the key material and client registrations at start (fail fast: a bad setting stops the start, not the first request).
 * Production (SCHAKEL_MODE=production, or NODE_ENV=production) needs AUTH_SIGNING_KEY_FILE and
 * AUTH_CLIENTS_FILE and refuses demo clients; development falls back to the generated demo set.
 */
import { join } from 'node:path';
import type { JWK } from 'jose';
import type { Config } from '../config/config.js';
import { ClientRegistry } from './clients.js';
import { demoAuthFile } from './demo-clients.js';
import { loadSigningKey } from './keys.js';
import { readSigningKeys, SigningKeys } from './signing-keys.js';
import type { AuthSetup } from './service.js';

export class AuthSetupError extends Error {
  override name = 'AuthSetupError';
}

export function demoAuthPath(config: Pick<Config, 'dataDir'>): string {
  const dir = config.dataDir.startsWith('memory://') ? './data' : config.dataDir;
  return join(dir, 'demo-auth.json');
}

export async function loadAuthSetup(config: Config): Promise<AuthSetup & { demo: boolean }> {
  const { auth } = config;
  if (config.mode === 'production' && (auth.signingKeyFile === undefined || auth.clientsFile === undefined)) {
    throw new AuthSetupError('production mode needs AUTH_SIGNING_KEY_FILE and AUTH_CLIENTS_FILE');
  }
  try {
    const demo = auth.signingKeyFile === undefined || auth.clientsFile === undefined ? await demoAuthFile(demoAuthPath(config), auth.signingAlgorithm) : undefined;
    const clients = auth.clientsFile !== undefined ? ClientRegistry.fromFile(auth.clientsFile) : new ClientRegistry(demo?.clients.map((c) => c.registration) ?? []);
    if (config.mode === 'production' && clients.all().some((c) => c.registration.demo === true)) {
      throw new AuthSetupError('production mode refuses demo clients');
    }
    const signingKeys =
      auth.signingKeyFile !== undefined
        ? await readSigningKeys(auth.signingKeyFile, auth.signingAlgorithm)
        : new SigningKeys(await loadSigningKey(demo?.signingKey as JWK, auth.signingAlgorithm));
    return { signingKeys, clients, demo: demo !== undefined };
  } catch (error) {
    if (error instanceof AuthSetupError) {
      throw error;
    }
    throw new AuthSetupError(error instanceof Error ? error.message : String(error));
  }
}
