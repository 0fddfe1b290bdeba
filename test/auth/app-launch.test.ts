// SMART App Launch (docs in the notes of this feature): authorization code flow with PKCE for public
// app clients, refresh token rotation, revocation and EHR launch, all through HTTP.
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { careScenario } from '../helpers/care-scenario.js';

const CONSOLE = 'schakel-console';

interface Pkce {
  readonly verifier: string;
  readonly challenge: string;
}

function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function form(fields: Record<string, string>): { headers: Record<string, string>; payload: string } {
  return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() };
}

function hidden(html: string, name: string): string[] {
  return [...html.matchAll(new RegExp(`name="${name}" value="([^"]*)"`, 'g'))].map((m) => m[1] as string);
}

function location(response: LightMyRequestResponse): URL {
  const header = response.headers['location'];
  if (typeof header !== 'string') {
    throw new Error(`no redirect: ${response.statusCode} ${response.body}`);
  }
  return new URL(header);
}

t.test(`SMART App Launch on ${engine}`, async (t) => {
  const app: TestApp = await createTestApp(t);
  await careScenario(app);
  const issuer = app.app.auth.issuer;
  const aud = app.app.auth.audience;
  const redirectUri = `${issuer}/app/`;

  const authorizeParams = (overrides: Record<string, string | undefined>, p: Pkce): Record<string, string> => {
    const params: Record<string, string | undefined> = {
      response_type: 'code',
      client_id: CONSOLE,
      redirect_uri: redirectUri,
      scope: 'openid fhirUser offline_access user/*.rs',
      state: `st-${randomBytes(4).toString('hex')}`,
      aud,
      code_challenge: p.challenge,
      code_challenge_method: 'S256',
      ...overrides,
    };
    return Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
  };
  const authorize = (params: Record<string, string>) => app.app.inject({ method: 'GET', url: `/auth/authorize?${new URLSearchParams(params).toString()}` });

  /** The whole browser side: authorize, log in as a demo professional, pick a patient when asked. */
  const login = async (who: string, overrides: Record<string, string | undefined> = {}, patient?: string) => {
    const p = pkce();
    const params = authorizeParams(overrides, p);
    const page = await authorize(params);
    if (page.statusCode !== 200) {
      throw new Error(`authorize: ${page.statusCode} ${page.body}`);
    }
    let answer = await app.app.inject({ method: 'POST', url: '/auth/authorize/login', ...form({ session: hidden(page.body, 'session')[0] ?? '', user: who }) });
    let patients: string[] = [];
    if (answer.statusCode === 200) {
      patients = hidden(answer.body, 'patient');
      answer = await app.app.inject({ method: 'POST', url: '/auth/authorize/patient', ...form({ session: hidden(answer.body, 'session')[0] ?? '', patient: patient ?? patients[0] ?? '' }) });
    }
    return { pkce: p, params, redirect: location(answer), patients };
  };
  const token = (fields: Record<string, string>) => app.app.inject({ method: 'POST', url: '/auth/token', ...form(fields) });
  const exchange = (code: string, p: Pkce, overrides: Record<string, string> = {}) =>
    token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: p.verifier, client_id: CONSOLE, ...overrides });
  const fhir = (url: string, accessToken: string) => app.request({ method: 'GET', url: `/fhir/${url}`, headers: { authorization: `Bearer ${accessToken}` } });

  t.test('discovery names the authorization and revocation endpoints', async (t) => {
    const config = (await app.app.inject({ method: 'GET', url: '/fhir/.well-known/smart-configuration' })).json();
    t.equal(config.authorization_endpoint, `${issuer}/auth/authorize`);
    t.equal(config.revocation_endpoint, `${issuer}/auth/revoke`);
    t.same(config.code_challenge_methods_supported, ['S256']);
    t.ok(['authorization_code', 'refresh_token', 'client_credentials'].every((g) => config.grant_types_supported.includes(g)));
    for (const capability of ['launch-ehr', 'launch-standalone', 'client-public', 'context-ehr-patient', 'context-standalone-patient', 'permission-v2', 'sso-openid-connect', 'authorize-post']) {
      t.ok(config.capabilities.includes(capability), capability);
    }
    const metadata = (await app.app.inject({ method: 'GET', url: '/fhir/metadata' })).json();
    const uris = metadata.rest[0].security.extension[0].extension.map((e: { url: string }) => e.url);
    t.ok(uris.includes('authorize') && uris.includes('revoke'), 'the CapabilityStatement names the endpoints');
  });

  t.test('standalone launch: login, patient pick, code, token, narrowed reads', async (t) => {
    const page = await authorize(authorizeParams({ scope: 'openid fhirUser launch/patient offline_access user/*.rs patient/*.rs' }, pkce()));
    t.equal(page.statusCode, 200);
    t.match(page.headers['content-type'], /text\/html/);
    t.match(page.headers['content-security-policy'], /default-src 'none'/, 'no script can run on the login page');
    t.notMatch(page.body, /<script/i);
    t.same(hidden(page.body, 'user'), ['gp', 'physio', 'nurse', 'rehab'], 'the demo professionals are offered');

    const { pkce: p, params, redirect, patients } = await login('physio', { scope: 'openid fhirUser launch/patient offline_access user/*.rs patient/*.rs' }, 'p-vis');
    t.same(patients, ['p-vis'], 'only the patient in the physio’s care is offered');
    t.equal(`${redirect.origin}${redirect.pathname}`, redirectUri);
    t.equal(redirect.searchParams.get('state'), params['state'], 'state comes back unchanged');
    const code = redirect.searchParams.get('code') ?? '';
    t.ok(code.length >= 43);

    const granted = await exchange(code, p);
    t.equal(granted.statusCode, 200, granted.body);
    t.equal(granted.headers['cache-control'], 'no-store');
    const body = granted.json();
    t.equal(body.token_type, 'Bearer');
    t.equal(body.patient, 'p-vis');
    t.equal(body.fhirUser, `${aud}/Practitioner/t-physio-pract`);
    t.same(body.scope.split(' ').sort(), ['fhirUser', 'launch/patient', 'offline_access', 'openid', 'user/*.rs'].sort(), 'patient/ scopes are not granted');
    t.type(body.refresh_token, 'string');
    const jwks = createLocalJWKSet((await app.app.inject({ method: 'GET', url: '/auth/jwks' })).json());
    const { payload } = await jwtVerify(body.id_token, jwks, { issuer, audience: CONSOLE });
    t.equal(payload['fhirUser'], body.fhirUser, 'the id_token names the user');

    // The token stands for the physio exactly as a user assertion would: narrowed by care relations.
    t.equal((await fhir('Patient/p-vis', body.access_token)).statusCode, 200);
    t.equal((await fhir('Patient/p-kok', body.access_token)).statusCode, 404, 'a patient outside the care relation is hidden');
    const search = (await fhir('Observation', body.access_token)).json();
    t.same(search.entry.map((e: { resource: { id: string } }) => e.resource.id), ['obs-vis']);
    t.equal((await app.request({ method: 'POST', url: '/fhir/Observation', body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p-vis' } }, headers: { authorization: `Bearer ${body.access_token}` } })).statusCode, 403, 'a read scope does not write');

    // A pick of a patient outside the care relation (a forged form) is refused back to the app.
    const page2 = await authorize(authorizeParams({ scope: 'launch/patient user/*.rs' }, pkce()));
    const picked = await app.app.inject({ method: 'POST', url: '/auth/authorize/login', ...form({ session: hidden(page2.body, 'session')[0] ?? '', user: 'physio' }) });
    const forged = await app.app.inject({ method: 'POST', url: '/auth/authorize/patient', ...form({ session: hidden(picked.body, 'session')[0] ?? '', patient: 'p-kok' }) });
    t.equal(location(forged).searchParams.get('error'), 'access_denied');
    t.equal(location(forged).searchParams.get('code'), null);
  });

  t.test('PKCE is required, S256 only, and the verifier must match', async (t) => {
    for (const [label, overrides] of [
      ['no challenge', { code_challenge: undefined, code_challenge_method: undefined }],
      ['plain', { code_challenge_method: 'plain' }],
      ['no method', { code_challenge_method: undefined }],
    ] as const) {
      const params = authorizeParams(overrides, pkce());
      const refused = await authorize(params);
      t.equal(refused.statusCode, 302, label);
      t.equal(location(refused).searchParams.get('error'), 'invalid_request', label);
      t.equal(location(refused).searchParams.get('state'), params['state'], `${label}: state comes back`);
    }
    const { redirect } = await login('gp');
    const wrong = await exchange(redirect.searchParams.get('code') ?? '', pkce());
    t.equal(wrong.statusCode, 400);
    t.equal(wrong.json().error, 'invalid_grant', 'another verifier');
    const { pkce: p, redirect: again } = await login('gp');
    const missing = await exchange(again.searchParams.get('code') ?? '', p, { code_verifier: '' });
    t.equal(missing.json().error, 'invalid_request', 'no verifier');
  });

  t.test('a code is used once; its reuse revokes the tokens issued from it', async (t) => {
    const { pkce: p, redirect } = await login('gp');
    const code = redirect.searchParams.get('code') ?? '';
    const first = await exchange(code, p);
    t.equal(first.statusCode, 200);
    const { access_token: accessToken, refresh_token: refreshToken } = first.json();
    t.equal((await fhir('Patient/p-kok', accessToken)).statusCode, 200, 'the gp reads his patient');
    const second = await exchange(code, p);
    t.equal(second.statusCode, 400);
    t.equal(second.json().error, 'invalid_grant');
    const after = await fhir('Patient/p-kok', accessToken);
    t.equal(after.statusCode, 401, 'the first access token is revoked');
    t.equal(after.json().issue[0].code, 'security');
    t.equal((await token({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CONSOLE })).json().error, 'invalid_grant', 'and its refresh token');
  });

  t.test('redirect URIs match exactly; other errors go back with state', async (t) => {
    for (const uri of [`${issuer}/app`, `${issuer}/app/?next=1`, `${issuer}/APP/`, 'https://evil.example/app/']) {
      const refused = await authorize(authorizeParams({ redirect_uri: uri }, pkce()));
      t.equal(refused.statusCode, 400, uri);
      t.equal(refused.headers['location'], undefined, `${uri}: never redirected to`);
      t.equal(refused.json().error, 'invalid_request');
    }
    const unknown = await authorize(authorizeParams({ client_id: 'gp' }, pkce()));
    t.equal(unknown.statusCode, 400, 'a backend-services client has no authorization code flow');
    t.equal(unknown.json().error, 'unauthorized_client');

    const { pkce: p, redirect } = await login('gp');
    const elsewhere = await exchange(redirect.searchParams.get('code') ?? '', p, { redirect_uri: `${issuer}/app/other` });
    t.equal(elsewhere.json().error, 'invalid_grant', 'the token request names the same redirect URI');
    const otherClient = await exchange(redirect.searchParams.get('code') ?? '', p, { client_id: 'nobody' });
    t.equal(otherClient.statusCode, 401);
    t.equal(otherClient.json().error, 'invalid_client');

    const wrongAud = authorizeParams({ aud: 'https://other.example/fhir' }, pkce());
    const audRefused = await authorize(wrongAud);
    t.equal(location(audRefused).searchParams.get('error'), 'invalid_request', 'aud must be this FHIR base');
    t.equal(location(audRefused).searchParams.get('state'), wrongAud['state']);
    t.equal(location(await authorize(authorizeParams({ response_type: 'token' }, pkce()))).searchParams.get('error'), 'unsupported_response_type');
    t.equal(location(await authorize(authorizeParams({ scope: 'openid' }, pkce()))).searchParams.get('error'), 'invalid_scope');
    t.equal(location(await authorize(authorizeParams({ scope: 'user/Foo.rs' }, pkce()))).searchParams.get('error'), 'invalid_scope');
  });

  t.test('refresh tokens rotate; reuse of an old one revokes the family', async (t) => {
    const { pkce: p, redirect } = await login('gp', { scope: 'online_access user/Patient.rs' });
    const first = (await exchange(redirect.searchParams.get('code') ?? '', p)).json();
    t.equal(first.scope, 'user/Patient.rs online_access');
    t.equal(first.id_token, undefined, 'no id_token without openid fhirUser');
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: CONSOLE });
    t.equal(refreshed.statusCode, 200);
    const second = refreshed.json();
    t.not(second.refresh_token, first.refresh_token, 'a new refresh token each time');
    t.equal((await fhir('Patient/p-kok', second.access_token)).statusCode, 200);
    t.equal((await fhir('Observation/obs-kok', second.access_token)).statusCode, 403, 'the scope stays as granted');

    const wrongClient = await token({ grant_type: 'refresh_token', refresh_token: second.refresh_token, client_id: 'admin' });
    t.equal(wrongClient.statusCode, 401, 'a backend-services client cannot use an app’s refresh token');
    const reused = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: CONSOLE });
    t.equal(reused.statusCode, 400);
    t.equal(reused.json().error, 'invalid_grant');
    t.equal((await token({ grant_type: 'refresh_token', refresh_token: second.refresh_token, client_id: CONSOLE })).json().error, 'invalid_grant', 'the newest refresh token is revoked too');
    t.equal((await fhir('Patient/p-kok', second.access_token)).statusCode, 401, 'and the access tokens of the family');
  });

  t.test('revocation (RFC 7009)', async (t) => {
    const { pkce: p, redirect } = await login('gp');
    const tokens = (await exchange(redirect.searchParams.get('code') ?? '', p)).json();
    const revoke = (fields: Record<string, string>) => app.app.inject({ method: 'POST', url: '/auth/revoke', ...form(fields) });
    t.equal((await revoke({ token: tokens.refresh_token, client_id: 'nobody' })).statusCode, 401, 'unknown client');
    t.equal((await revoke({ token: tokens.refresh_token, client_id: CONSOLE, token_type_hint: 'refresh_token' })).statusCode, 200);
    t.equal((await fhir('Patient/p-kok', tokens.access_token)).statusCode, 401, 'the access token of the grant ends');
    t.equal((await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: CONSOLE })).json().error, 'invalid_grant');
    t.equal((await revoke({ token: 'not-a-token', client_id: CONSOLE })).statusCode, 200, 'an invalid token is not an error');

    const other = await login('gp');
    const otherTokens = (await exchange(other.redirect.searchParams.get('code') ?? '', other.pkce)).json();
    t.equal((await revoke({ token: otherTokens.access_token, client_id: CONSOLE })).statusCode, 200);
    t.equal((await fhir('Patient/p-kok', otherTokens.access_token)).statusCode, 401, 'revoking the access token ends it');
  });

  t.test('EHR launch: the launch context gives the patient', async (t) => {
    const launch = (patient: string, as: 'admin' | 'physio' | 'gp', extra: Record<string, string> = {}) =>
      app.request({ method: 'POST', url: '/auth/launch', as, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ patient, ...extra }).toString() });
    const created = await launch('p-kok', 'admin');
    t.equal(created.statusCode, 201, created.body);
    const value = created.json().launch as string;
    t.ok(created.json().expires_in > 0);

    const { pkce: p, redirect, patients } = await login('gp', { scope: 'launch launch/patient user/*.rs', launch: value });
    t.same(patients, [], 'no patient pick in an EHR launch');
    const body = (await exchange(redirect.searchParams.get('code') ?? '', p)).json();
    t.equal(body.patient, 'p-kok');
    t.match(body.scope, /\blaunch\b/);

    t.equal((await launch('p-kok', 'physio')).statusCode, 404, 'a user-context EHR launches only for patients in its user’s care');
    t.equal((await launch('p-vis', 'physio')).statusCode, 201);
    t.equal((await launch('nobody', 'admin')).statusCode, 404);
    t.equal((await launch('p-kok', 'admin', { encounter: 'no-such' })).statusCode, 404);
    const bad = await launch('bad id!', 'admin');
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().resourceType, 'OperationOutcome');
    t.equal((await app.request({ method: 'POST', url: '/auth/launch', headers: { authorization: '', 'content-type': 'application/x-www-form-urlencoded' }, body: 'patient=p-kok' })).statusCode, 401);
    const unknown = await authorize(authorizeParams({ scope: 'launch user/*.rs', launch: 'made-up' }, pkce()));
    t.equal(location(unknown).searchParams.get('error'), 'invalid_request', 'an unknown launch value');
  });

  t.test('authorize by POST', async (t) => {
    const p = pkce();
    const page = await app.app.inject({ method: 'POST', url: '/auth/authorize', ...form(authorizeParams({}, p)) });
    t.equal(page.statusCode, 200);
    t.equal(hidden(page.body, 'session').length, 1);
  });
});
