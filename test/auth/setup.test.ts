// Start-up of authentication: production refuses demo clients and missing key material.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AuthSetupError, loadAuthSetup } from '../../src/auth/setup.js';
import { testConfig } from '../helpers/app.js';
import { demoAuth } from '../helpers/auth.js';

t.test('production mode needs configured keys and refuses demo clients', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'schakel-auth-'));
  await t.rejects(loadAuthSetup(testConfig({ SCHAKEL_MODE: 'production', DATA_DIR: dir })), AuthSetupError, 'no key files');
  await t.rejects(loadAuthSetup(testConfig({ NODE_ENV: 'production', DATA_DIR: dir })), AuthSetupError, 'NODE_ENV=production counts');
  const demo = await demoAuth();
  const keyFile = join(dir, 'key.json');
  const clientsFile = join(dir, 'clients.json');
  writeFileSync(keyFile, JSON.stringify(demo.signingKey));
  writeFileSync(clientsFile, JSON.stringify({ clients: demo.clients.map((c) => c.registration) }));
  const files = { AUTH_SIGNING_KEY_FILE: keyFile, AUTH_CLIENTS_FILE: clientsFile };
  await t.rejects(loadAuthSetup(testConfig({ SCHAKEL_MODE: 'production', DATA_DIR: dir, ...files })), AuthSetupError, 'demo clients');
  writeFileSync(clientsFile, JSON.stringify({ clients: demo.clients.map((c) => ({ ...c.registration, demo: false })) }));
  const production = await loadAuthSetup(testConfig({ SCHAKEL_MODE: 'production', DATA_DIR: dir, ...files }));
  t.equal(production.demo, false);
  t.equal(production.clients.all().length, demo.clients.length);
  writeFileSync(clientsFile, JSON.stringify({ clients: [{ ...demo.clients[0]!.registration, jwks: { keys: [demo.signingKey] } }] }));
  await t.rejects(loadAuthSetup(testConfig({ DATA_DIR: dir, ...files })), AuthSetupError, 'a private key in a client JWKS');

  const development = await loadAuthSetup(testConfig({ DATA_DIR: dir }));
  t.equal(development.demo, true, 'development generates the demo set');
  t.same(development.clients.all().map((c) => c.registration.clientId).sort(), ['admin', 'auditor', 'gp', 'nurse', 'physio', 'rehab']);
  const again = await loadAuthSetup(testConfig({ DATA_DIR: dir }));
  t.equal(again.signingKey.kid, development.signingKey.kid, 'and keeps it across restarts');
});
