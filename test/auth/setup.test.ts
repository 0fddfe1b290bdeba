// Start-up of authentication: production refuses demo clients and missing key material.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { demoAuthFile, type DemoAuthFile } from '../../src/auth/demo-clients.js';
import { AuthSetupError, demoAuthPath, loadAuthSetup } from '../../src/auth/setup.js';
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
  t.same(development.clients.all().map((c) => c.registration.clientId).sort(), ['admin', 'auditor', 'gp', 'network', 'nurse', 'physio', 'rehab']);
  const again = await loadAuthSetup(testConfig({ DATA_DIR: dir }));
  t.equal(again.signingKeys.current.kid, development.signingKeys.current.kid, 'and keeps it across restarts');
});

t.test('a demo set made before a demo client existed gets it, keeping the keys handed out', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'schakel-auth-'));
  const path = demoAuthPath(testConfig({ DATA_DIR: dir }));
  const demo = await demoAuth();
  const old: DemoAuthFile = { ...demo, clients: demo.clients.filter((c) => c.registration.clientId !== 'network') };
  writeFileSync(path, JSON.stringify(old));
  const upgraded = await demoAuthFile(path, 'ES384');
  const network = upgraded.clients.find((c) => c.registration.clientId === 'network');
  t.same(network?.registration.scopes, ['system/Measure.r'], 'the network client is added');
  t.same(upgraded.clients.filter((c) => c.registration.clientId !== 'network'), old.clients, 'the others keep their keys');
  t.same((JSON.parse(readFileSync(path, 'utf8')) as DemoAuthFile).clients.length, old.clients.length + 1, 'and the file says so');
});

t.test('starts that race on one data folder end up with the same demo keys', async (t) => {
  // Two nodes (or a node and `npm run token`) starting together on an empty DATA_DIR: each must
  // use the keys in the file, or tokens signed with the file's keys are refused by the other.
  const dir = mkdtempSync(join(tmpdir(), 'schakel-auth-'));
  const path = demoAuthPath(testConfig({ DATA_DIR: dir }));
  const starts = await Promise.all([1, 2, 3, 4].map(() => demoAuthFile(path, 'ES384')));
  const onDisk = JSON.parse(readFileSync(path, 'utf8')) as DemoAuthFile;
  for (const [index, demo] of starts.entries()) {
    t.same(demo.signingKey, onDisk.signingKey, `start ${index + 1} signs with the key in the file`);
    t.same(demo.clients, onDisk.clients, `start ${index + 1} knows the clients' keys in the file`);
  }
  t.same(readdirSync(dir).filter((name) => name.endsWith('.tmp')), [], 'and no temporary file is left');
});
