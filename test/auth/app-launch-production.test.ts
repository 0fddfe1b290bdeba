// SMART App Launch in production mode: no demo login page, no demo console client; users log in
// at the external OpenID Connect provider, whose id_token is checked against its JWKS.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { buildApp } from '../../src/app.js';
import { ClientRegistry, type ClientRegistration } from '../../src/auth/clients.js';
import { DEMO_USERS } from '../../src/auth/demo-clients.js';
import { engine, injector, testConfig, type TestApp } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';
import { careScenario } from '../helpers/care-scenario.js';
import { createTestDatabase } from '../helpers/database.js';

const APP: ClientRegistration = {
  clientId: 'ward-app',
  name: 'Ward app',
  tokenEndpointAuthMethod: 'none',
  redirectUris: ['https://app.example/callback'],
  scopes: ['user/*.rs'],
  organizations: [],
};
const IDP = 'https://idp.example';
const LOGIN_CLIENT = 'schakel-login';

function form(fields: Record<string, string>): { headers: Record<string, string>; payload: string } {
  return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() };
}

t.test(`production mode on ${engine}`, async (t) => {
  const idpKeys = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(idpKeys.publicKey)), kid: 'idp-1', alg: 'ES256' };
  const jwksServer = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;

  const database = await createTestDatabase();
  const config = testConfig({
    SCHAKEL_MODE: 'production',
    AUTH_EXTERNAL_ISSUER: IDP,
    AUTH_EXTERNAL_JWKS_URL: jwksUrl,
    AUTH_EXTERNAL_AUDIENCE: 'schakel',
    AUTH_EXTERNAL_AUTHORIZATION_ENDPOINT: `${IDP}/authorize`,
    AUTH_EXTERNAL_CLIENT_ID: LOGIN_CLIENT,
  });
  const setup = await testAuthSetup();
  const clients = new ClientRegistry([...setup.clients.all().map((c) => c.registration), APP]);
  const app = await buildApp({ config, db: database.db, closeDatabase: false, auth: { signingKeys: setup.signingKeys, clients } });
  t.teardown(async () => {
    await app.close();
    await database.destroy();
  });
  const testApp: TestApp = { app, config, database, request: injector(app), startedAt: new Date().toISOString() };
  await careScenario(testApp);

  const verifier = randomBytes(32).toString('base64url');
  const params = {
    response_type: 'code',
    client_id: APP.clientId,
    redirect_uri: 'https://app.example/callback',
    scope: 'openid fhirUser user/*.rs',
    state: 'prod-state',
    aud: app.auth.audience,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  };
  const authorize = (overrides: Record<string, string> = {}) => app.inject({ method: 'GET', url: `/auth/authorize?${new URLSearchParams({ ...params, ...overrides }).toString()}` });

  const consoleRequest = await authorize({ client_id: 'schakel-console', redirect_uri: `${app.auth.issuer}/app/` });
  t.equal(consoleRequest.statusCode, 400, 'the demo console is not registered in production');
  t.equal(consoleRequest.json().error, 'unauthorized_client');

  const toIdp = await authorize();
  t.equal(toIdp.statusCode, 302, 'no demo login page: the browser goes to the identity provider');
  t.notMatch(toIdp.body, /<form/);
  const idpUrl = new URL(String(toIdp.headers['location']));
  t.equal(`${idpUrl.origin}${idpUrl.pathname}`, `${IDP}/authorize`);
  t.equal(idpUrl.searchParams.get('client_id'), LOGIN_CLIENT);
  t.equal(idpUrl.searchParams.get('response_type'), 'id_token');
  t.equal(idpUrl.searchParams.get('response_mode'), 'form_post');
  t.equal(idpUrl.searchParams.get('redirect_uri'), `${app.auth.issuer}/auth/login/callback`);
  const state = idpUrl.searchParams.get('state') ?? '';
  const nonce = idpUrl.searchParams.get('nonce') ?? '';
  t.ok(nonce.length >= 16);

  const demoLogin = await app.inject({ method: 'POST', url: '/auth/authorize/login', ...form({ session: state, user: 'gp' }) });
  t.equal(demoLogin.statusCode, 403, 'the demo login is refused in production');
  t.equal(demoLogin.json().error, 'access_denied');
  t.equal(demoLogin.headers['location'], undefined);

  const gp = DEMO_USERS['gp']!;
  const idToken = (claims: Record<string, unknown>, audience = LOGIN_CLIENT) =>
    new SignJWT({ sub: gp.sub, role: gp.role, organization: gp.organization, name: gp.name, nonce, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
      .setIssuer(IDP)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(idpKeys.privateKey);
  const callback = (fields: Record<string, string>) => app.inject({ method: 'POST', url: '/auth/login/callback', ...form(fields) });

  for (const [label, claims, audience] of [
    ['another nonce', { nonce: 'other' }, LOGIN_CLIENT],
    ['another audience', {}, 'someone-else'],
    ['no organisation', { organization: undefined }, LOGIN_CLIENT],
  ] as const) {
    const refused = await callback({ id_token: await idToken(claims, audience), state });
    t.equal(refused.statusCode, 302, label);
    const back = new URL(String(refused.headers['location']));
    t.equal(back.searchParams.get('error'), 'access_denied', label);
    t.equal(back.searchParams.get('state'), 'prod-state', label);
  }
  const forgedKey = await generateKeyPair('ES256');
  const forged = await new SignJWT({ sub: gp.sub, role: gp.role, organization: gp.organization, nonce })
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
    .setIssuer(IDP)
    .setAudience(LOGIN_CLIENT)
    .setExpirationTime('2m')
    .sign(forgedKey.privateKey);
  t.equal(new URL(String((await callback({ id_token: forged, state })).headers['location'])).searchParams.get('error'), 'access_denied', 'a key not in the provider’s JWKS');
  t.equal((await callback({ id_token: await idToken({}), state: 'tampered' })).statusCode, 400, 'an altered session');

  const accepted = await callback({ id_token: await idToken({}), state });
  t.equal(accepted.statusCode, 302);
  const back = new URL(String(accepted.headers['location']));
  t.equal(`${back.origin}${back.pathname}`, 'https://app.example/callback');
  t.equal(back.searchParams.get('state'), 'prod-state');
  const tokens = await app.inject({
    method: 'POST',
    url: '/auth/token',
    ...form({ grant_type: 'authorization_code', code: back.searchParams.get('code') ?? '', redirect_uri: 'https://app.example/callback', code_verifier: verifier, client_id: APP.clientId }),
  });
  t.equal(tokens.statusCode, 200, tokens.body);
  t.equal(tokens.json().fhirUser, `${app.auth.audience}/Practitioner/t-gp-pract`);
  const read = await testApp.request({ method: 'GET', url: '/fhir/Patient/p-kok', headers: { authorization: `Bearer ${tokens.json().access_token}` } });
  t.equal(read.statusCode, 200, 'the externally logged-in GP reads a patient in care');
});
