// The registered clients file (auth/clients.ts): the checks the server and `npm run clients` share,
// the tool's add/check/list, and a running node taking up a changed file without a restart while
// a file that does not load keeps the registry in use.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseClientsFile, registrationProblem, type ClientRegistration } from '../../src/auth/clients.js';
import { generatePrivateJwk, publicPart } from '../../src/auth/keys.js';
import { CLIENT_ASSERTION_TYPE } from '../../src/auth/token-endpoint.js';
import { demoClient, signWith, TOKEN_URL } from '../helpers/auth.js';
import { eventually, fileAuthApp, runScript } from '../helpers/auth-files.js';
import { engine } from '../helpers/database.js';

const URA = 'http://fhir.nl/fhir/NamingSystem/ura';

async function newClient(clientId: string): Promise<{ registration: ClientRegistration; jwk: Awaited<ReturnType<typeof generatePrivateJwk>> }> {
  const jwk = await generatePrivateJwk('ES384');
  return { jwk, registration: { clientId, name: `Lab ${clientId}`, jwks: { keys: [publicPart(jwk)] }, scopes: ['system/Observation.rs'], organizations: [`${URA}|90000777`] } };
}

t.test('the checks of a client entry', async (t) => {
  const { registration, jwk } = await newClient('lab-1');
  t.equal(registrationProblem(registration), undefined, 'a valid entry');
  t.equal(registrationProblem({ ...registration, jwks: undefined, jwksUrl: 'https://lab.example/jwks.json' }), undefined, 'the jwksUrl form');
  for (const [label, entry] of [
    ['not an object', 'lab'],
    ['a client id with spaces', { ...registration, clientId: 'lab 1' }],
    ['both key forms', { ...registration, jwksUrl: 'https://lab.example/jwks.json' }],
    ['no key', { ...registration, jwks: undefined }],
    ['a private key', { ...registration, jwks: { keys: [jwk] } }],
    ['a symmetric key', { ...registration, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }],
    ['an empty key set', { ...registration, jwks: { keys: [] } }],
    ['a jwksUrl that is no URL', { ...registration, jwks: undefined, jwksUrl: 'ftp://lab.example' }],
    ['a patient/ scope', { ...registration, scopes: ['patient/Observation.rs'] }],
    ['an unknown resource type', { ...registration, scopes: ['system/Labresult.rs'] }],
    ['a query-restricted scope', { ...registration, scopes: ['system/Observation.rs?category=laboratory'] }],
    ['scopes not a list', { ...registration, scopes: 'system/Observation.rs' }],
    ['an organisation without system', { ...registration, organizations: ['90000777'] }],
    ['an organisation by an unknown system', { ...registration, organizations: ['http://example.org|1'] }],
  ] as const) {
    t.type(registrationProblem(entry), 'string', label);
  }
  // A public client: a SMART app in the browser, no keys, its redirect URIs (clients.ts).
  const app: ClientRegistration = { clientId: 'ward-app', tokenEndpointAuthMethod: 'none', redirectUris: ['https://app.example/cb', 'http://localhost:5173/'], scopes: ['user/*.rs'], organizations: [] };
  t.equal(registrationProblem(app), undefined, 'a valid public client');
  for (const [label, entry] of [
    ['a public client with keys', { ...app, jwks: registration.jwks }],
    ['a public client without redirect URIs', { ...app, redirectUris: [] }],
    ['a redirect URI with a fragment', { ...app, redirectUris: ['https://app.example/cb#x'] }],
    ['a plain http redirect URI off the loopback', { ...app, redirectUris: ['http://app.example/cb'] }],
    ['a relative redirect URI', { ...app, redirectUris: ['/cb'] }],
    ['a public client with system/ scopes', { ...app, scopes: ['system/*.rs'] }],
    ['a public client vouching for organisations', { ...app, organizations: [`${URA}|90000777`] }],
    ['an unknown authentication method', { ...app, tokenEndpointAuthMethod: 'client_secret_basic' }],
    ['redirect URIs on a confidential client', { ...registration, redirectUris: ['https://lab.example/cb'] }],
  ] as const) {
    t.type(registrationProblem(entry), 'string', label);
  }
  const file = parseClientsFile(JSON.stringify({ clients: [registration, { ...registration, scopes: ['patient/*.rs'] }, registration, { clientId: 'x' }] }));
  t.ok('problems' in file && file.problems.length === 3, 'every problem of a file at once: the bad scope, the duplicate, the incomplete entry');
  t.ok('problems' in parseClientsFile('{"clients": '), 'not JSON');
  t.ok('problems' in parseClientsFile('{"client": []}'), 'no clients list');
  t.same(parseClientsFile(JSON.stringify({ clients: [registration] })), { clients: [registration] });
});

t.test('npm run clients -- add, check and list', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'schakel-clients-'));
  const file = join(dir, 'clients.json');
  const { registration } = await newClient('lab-2');
  const entryFile = join(dir, 'entry.json');
  writeFileSync(entryFile, JSON.stringify(registration));
  const added = await runScript('clients', ['add', entryFile, '--file', file]);
  t.equal(added.code, 0, added.stderr);
  t.same(JSON.parse(readFileSync(file, 'utf8')), { clients: [registration] }, 'add writes the entry');
  const twice = await runScript('clients', ['add', entryFile, '--file', file]);
  t.equal(twice.code, 1, 'a client id is added once');
  const bad = await runScript('clients', ['add', '--json', JSON.stringify({ ...registration, clientId: 'lab-3', scopes: ['patient/*.rs'] }), '--file', file]);
  t.equal(bad.code, 1, 'an invalid entry is refused');
  t.match(bad.stderr, /scopes/, 'naming what is wrong');
  t.same(JSON.parse(readFileSync(file, 'utf8')), { clients: [registration] }, 'and the file is unchanged');

  const checked = await runScript('clients', ['check'], { AUTH_CLIENTS_FILE: file });
  t.equal(checked.code, 0, 'check passes a valid file (AUTH_CLIENTS_FILE by default)');
  const listed = await runScript('clients', ['list', '--file', file]);
  t.match(listed.stdout, /^lab-2\tjwks\(1\)\tsystem\/Observation\.rs\thttp:\/\/fhir\.nl\/fhir\/NamingSystem\/ura\|90000777\n$/);

  const broken = join(dir, 'broken.json');
  writeFileSync(broken, JSON.stringify({ clients: [registration, { ...registration, clientId: 'lab-4', organizations: ['nope'] }, registration] }));
  const failed = await runScript('clients', ['check', '--file', broken]);
  t.equal(failed.code, 1, 'check fails a file the server would not load');
  t.match(failed.stderr, /lab-4.*organizations/, 'naming the bad entry');
  t.match(failed.stderr, /lab-2.*twice/, 'and the duplicate');
});

t.test(`a changed clients file is taken up without a restart on ${engine}`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'schakel-clients-'));
  const file = join(dir, 'clients.json');
  const admin = (await demoClient('admin')).registration;
  writeFileSync(file, JSON.stringify({ clients: [admin] }));
  const { app, logs } = await fileAuthApp(t, { AUTH_CLIENTS_FILE: file, DATA_DIR: dir, AUTH_RELOAD_INTERVAL_SECONDS: '1' });
  const { registration, jwk } = await newClient('lab-5');
  const tokenStatus = async (): Promise<number> => {
    const now = Math.floor(Date.now() / 1000);
    const assertion = await signWith(jwk, { iss: 'lab-5', sub: 'lab-5', aud: TOKEN_URL, exp: now + 60, jti: randomUUID() });
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion, scope: 'system/Observation.rs' });
    const response = await app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() });
    return response.statusCode;
  };
  t.equal(await tokenStatus(), 401, 'an unregistered client gets no token');

  t.equal((await runScript('clients', ['add', '--json', JSON.stringify(registration), '--file', file])).code, 0);
  t.ok(await eventually(async () => (await tokenStatus()) === 200), 'once added to the file it gets one, without a restart');

  const errors = (): number => logs.filter((l) => l.includes('the clients file did not load')).length;
  writeFileSync(file, '{"clients": [');
  t.ok(await eventually(() => errors() >= 1), 'a broken file is logged as an error');
  t.equal(await tokenStatus(), 200, 'and the registry in use stays');
  t.notMatch(logs.join('\n'), /"level":50.*90000777/, 'the error names the problem, not the entries');

  writeFileSync(file, JSON.stringify({ clients: [admin, { ...registration, scopes: ['patient/*.rs'] }] }));
  t.ok(await eventually(() => errors() >= 2), 'so is a file with an invalid entry');
  t.equal(await tokenStatus(), 200, 'which is not half loaded: the registry in use stays whole');

  writeFileSync(file, JSON.stringify({ clients: [admin] }), { flag: 'w' });
  process.kill(process.pid, 'SIGHUP');
  t.ok(await eventually(async () => (await tokenStatus()) === 401), 'a client removed from the file loses access on the reload');
});
