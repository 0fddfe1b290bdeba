// Authentication (docs/security.md): SMART Backend Services token endpoint and bearer token rejection.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { exportJWK, generateKeyPair, SignJWT, base64url } from 'jose';
import { generatePrivateJwk, publicPart } from '../../src/auth/keys.js';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { clientAssertion, demoAuth, signWith, tokenFor, userAssertion } from '../helpers/auth.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

async function tokenRequest(app: TestApp, fields: Record<string, string>) {
  return app.app.inject({
    method: 'POST',
    url: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  });
}

async function clientForm(name: string, scope: string, overrides: Record<string, unknown> = {}): Promise<Record<string, string>> {
  return { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: await clientAssertion(name, overrides), scope };
}

t.test(`the token endpoint on ${engine}`, async (t) => {
  const app = await createTestApp(t);

  const admin = await tokenRequest(app, await clientForm('admin', 'system/*.cruds'));
  t.equal(admin.statusCode, 200);
  t.equal(admin.headers['cache-control'], 'no-store');
  t.equal(admin.json().token_type, 'Bearer');
  t.equal(admin.json().scope, 'system/*.cruds');
  t.ok(admin.json().expires_in <= 3600);
  const adminRead = await app.request({ method: 'GET', url: '/fhir/Patient', headers: { authorization: `Bearer ${admin.json().access_token}` } });
  t.equal(adminRead.statusCode, 200, 'the token opens the API');

  const user = await tokenRequest(app, { ...(await clientForm('gp', 'user/Observation.rs user/Patient.read')), user_assertion: await userAssertion('gp') });
  t.equal(user.statusCode, 200);
  t.same(user.json().scope.split(' ').sort(), ['user/Observation.rs', 'user/Patient.rs']);

  const narrowedScope = await tokenRequest(app, await clientForm('admin', 'system/Observation.rs user/*.cruds'));
  t.equal(narrowedScope.json().scope, 'system/Observation.rs', 'a token without user gets only system/ scopes');
  const userWithoutUser = await tokenRequest(app, await clientForm('gp', 'user/*.rs'));
  t.equal(userWithoutUser.statusCode, 400);
  t.equal(userWithoutUser.json().error, 'invalid_scope', 'user/ scopes need a user assertion');
  t.equal((await tokenRequest(app, await clientForm('auditor', 'system/*.rs'))).json().scope, 'system/AuditEvent.rs', 'nothing beyond the registration');

  // Client authentication failures: 401 invalid_client.
  const replayed = await clientForm('admin', 'system/*.rs');
  t.equal((await tokenRequest(app, replayed)).statusCode, 200);
  const again = await tokenRequest(app, replayed);
  t.equal(again.statusCode, 401, 'a jti is never accepted twice');
  t.equal(again.json().error, 'invalid_client');
  const now = Math.floor(Date.now() / 1000);
  for (const [label, overrides] of [
    ['exp more than five minutes ahead', { exp: now + 600 }],
    ['expired', { exp: now - 60 }],
    ['wrong aud', { aud: 'https://elsewhere.example/auth/token' }],
    ['sub other than iss', { sub: 'gp' }],
    ['no jti', { jti: undefined }],
  ] as const) {
    const refused = await tokenRequest(app, await clientForm('admin', 'system/*.rs', overrides));
    t.equal(refused.statusCode, 401, label);
    t.equal(refused.json().error, 'invalid_client', label);
  }
  const unknown = await tokenRequest(app, { ...(await clientForm('admin', 'system/*.rs')), client_assertion: await signWith(await generatePrivateJwk('ES384'), { iss: 'nobody', sub: 'nobody', aud: 'http://localhost:80/auth/token', exp: now + 60, jti: randomUUID() }) });
  t.equal(unknown.json().error, 'invalid_client', 'unknown client');
  const otherKey = await signWith(await generatePrivateJwk('ES384'), { iss: 'admin', sub: 'admin', aud: 'http://localhost:80/auth/token', exp: now + 60, jti: randomUUID() });
  t.equal((await tokenRequest(app, { ...(await clientForm('admin', 'system/*.rs')), client_assertion: otherKey })).json().error, 'invalid_client', 'a key the client did not register');
  const adminPublic = (await demoAuth()).clients.find((c) => c.registration.clientId === 'admin')!.registration.jwks!.keys[0]!;
  const hmac = await new SignJWT({ iss: 'admin', sub: 'admin', aud: 'http://localhost:80/auth/token', exp: now + 60, jti: randomUUID() })
    .setProtectedHeader({ alg: 'HS256', kid: adminPublic.kid })
    .sign(new TextEncoder().encode(JSON.stringify(adminPublic)));
  t.equal((await tokenRequest(app, { ...(await clientForm('admin', 'system/*.rs')), client_assertion: hmac })).json().error, 'invalid_client', 'HS256 keyed with the public key');

  // Request errors: 400.
  t.equal((await tokenRequest(app, { ...(await clientForm('admin', 'system/*.rs')), grant_type: 'password' })).json().error, 'unsupported_grant_type');
  t.equal((await tokenRequest(app, { ...(await clientForm('admin', 'system/*.rs')), client_assertion_type: 'basic' })).json().error, 'invalid_request');
  t.equal((await tokenRequest(app, await clientForm('admin', 'system/Observation.rs?category=vital-signs'))).json().error, 'invalid_scope');

  // User assertions.
  const foreignOrg = await tokenRequest(app, {
    ...(await clientForm('gp', 'user/*.rs')),
    user_assertion: await userAssertion('gp', { organization: 'http://fhir.nl/fhir/NamingSystem/agb-z|04099001' }),
  });
  t.equal(foreignOrg.statusCode, 400);
  t.equal(foreignOrg.json().error, 'invalid_grant', 'a client acts only for the organisations it is registered for');
  const noRole = await tokenRequest(app, { ...(await clientForm('gp', 'user/*.rs')), user_assertion: await userAssertion('gp', { role: undefined }) });
  t.equal(noRole.json().error, 'invalid_grant');
  const signedByOther = await tokenRequest(app, { ...(await clientForm('gp', 'user/*.rs')), user_assertion: await userAssertion('physio', { iss: 'gp' }) });
  t.equal(signedByOther.json().error, 'invalid_grant', 'the user assertion is signed by the requesting client');

  // Break-the-glass: only for configured roles, and only with a reason.
  const emergency = await tokenRequest(app, { ...(await clientForm('gp', 'user/*.rs')), user_assertion: await userAssertion('gp', { purpose_of_use: 'BTG', reason: 'Bewusteloos op SEH' }) });
  t.equal(emergency.statusCode, 200, 'a GP may claim emergency access');
  const physioEmergency = await tokenRequest(app, { ...(await clientForm('physio', 'user/*.rs')), user_assertion: await userAssertion('physio', { purpose_of_use: 'BTG', reason: 'nood' }) });
  t.equal(physioEmergency.json().error, 'invalid_grant', 'a physio may not');
  const noReason = await tokenRequest(app, { ...(await clientForm('gp', 'user/*.rs')), user_assertion: await userAssertion('gp', { purpose_of_use: 'BTG' }) });
  t.equal(noReason.json().error, 'invalid_grant', 'emergency access needs a reason');
});

t.test(`bearer tokens that are refused on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const demo = await demoAuth();
  const signing = demo.signingKey;
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: 'http://localhost:8080', aud: 'http://localhost:8080/fhir', sub: 'admin', client_id: 'admin', scope: 'system/*.cruds', exp: now + 60, iat: now, jti: randomUUID() };
  const good = await signWith(signing, claims, { typ: 'at+jwt' });
  const get = (authorization: string | undefined) =>
    app.request({ method: 'GET', url: '/fhir/Patient', headers: { authorization: authorization ?? '' } });
  t.equal((await get(`Bearer ${good}`)).statusCode, 200, 'a token signed by the server opens the API');

  const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${base64url.encode(JSON.stringify(claims))}.`;
  const confusion = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid: signing.kid, typ: 'at+jwt' })
    .sign(new TextEncoder().encode(JSON.stringify(publicPart(signing))));
  const { privateKey: stranger } = await generateKeyPair('ES384', { extractable: true });
  const strangerJwk = { ...(await exportJWK(stranger)), kid: 'unknown-kid', alg: 'ES384' };
  const clientKey = demo.clients.find((c) => c.registration.clientId === 'admin')!.privateJwk;
  const cases: Array<[string, string]> = [
    ['alg none', none],
    ['HS256 keyed with the public key', confusion],
    ['wrong issuer', await signWith(signing, { ...claims, iss: 'https://elsewhere.example' }, { typ: 'at+jwt' })],
    ['wrong audience', await signWith(signing, { ...claims, aud: 'https://elsewhere.example/fhir' }, { typ: 'at+jwt' })],
    ['expired', await signWith(signing, { ...claims, exp: now - 120, iat: now - 400 }, { typ: 'at+jwt' })],
    ['unknown kid', await signWith(strangerJwk, claims, { typ: 'at+jwt' })],
    ['signed by a client key', await signWith(clientKey, claims, { typ: 'at+jwt' })],
    ['not a JWT', 'abc.def.ghi'],
  ];
  for (const [label, token] of cases) {
    const refused = await get(`Bearer ${token}`);
    t.equal(refused.statusCode, 401, label);
    t.match(refused.headers['www-authenticate'], /^Bearer .*error="invalid_token"/, `${label}: WWW-Authenticate`);
    t.equal(refused.json().issue[0].code, 'security', label);
  }
  const missing = await get(undefined);
  t.equal(missing.statusCode, 401, 'no token');
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="schakel"', 'no error code when no token was sent (RFC 6750 §3.1)');
  t.equal(missing.json().issue[0].code, 'login');
  t.equal((await app.request({ method: 'GET', url: '/fhir/metadata', headers: { authorization: '' } })).statusCode, 200, 'the CapabilityStatement is public');

  const physioEmergency = await tokenFor(app.app, 'physio', { emergency: 'nood' });
  t.equal((await get(`Bearer ${physioEmergency}`)).statusCode, 401, 'emergency access of a role not configured for it');

  const logins = (await app.request({ method: 'GET', url: '/fhir/AuditEvent?type=http://dicom.nema.org/resources/ontology/DCM|110114&outcome=4&_total=accurate', as: 'auditor' })).json();
  t.equal(logins.total, cases.length + 2, 'every failed login is in the audit trail');
});

t.test(`discovery and an external OpenID issuer on ${engine}`, async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  const app = await createTestApp(t, { AUTH_EXTERNAL_ISSUER: 'https://idp.example', AUTH_EXTERNAL_JWKS_URL: jwksUrl, AUTH_EXTERNAL_AUDIENCE: 'schakel' });

  const discovery = await app.request({ method: 'GET', url: '/.well-known/smart-configuration', headers: { authorization: '' } });
  t.equal(discovery.statusCode, 200);
  const config = discovery.json();
  t.equal(config.token_endpoint, 'http://localhost:8080/auth/token');
  t.same(config.grant_types_supported, ['client_credentials', 'authorization_code', 'refresh_token']);
  t.same(config.token_endpoint_auth_methods_supported, ['private_key_jwt', 'none']);
  t.same(config.token_endpoint_auth_signing_alg_values_supported, ['ES384', 'RS384']);
  t.ok(config.scopes_supported.includes('system/*.cruds') && config.scopes_supported.includes('user/*.cruds'));
  t.same((await app.request({ method: 'GET', url: '/fhir/.well-known/smart-configuration', headers: { authorization: '' } })).json(), config, 'also below the FHIR base');
  t.equal((await app.request({ method: 'GET', url: '/auth/jwks', headers: { authorization: '' } })).json().keys[0].d, undefined, 'the JWKS is public keys only');

  const now = Math.floor(Date.now() / 1000);
  const external = (claims: Record<string, unknown>) =>
    new SignJWT({ iss: 'https://idp.example', aud: 'schakel', client_id: 'admin', scope: 'system/Patient.rs', exp: now + 60, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'idp-1' })
      .sign(privateKey);
  const read = (token: string, url = '/fhir/Patient') => app.request({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  t.equal((await read(await external({}))).statusCode, 200, 'a token of the external issuer is accepted');
  t.equal((await read(await external({}), '/fhir/Observation')).statusCode, 403, 'with the scopes it carries');
  t.equal((await read(await external({ scope: 'system/*.cruds', client_id: 'auditor' }), '/fhir/Patient')).statusCode, 403, 'cut down to the client registration');
  t.equal((await read(await external({ aud: 'other' }))).statusCode, 401, 'wrong audience');
  t.equal((await read(await external({ client_id: 'nobody' }))).statusCode, 401, 'unregistered client');
  t.equal((await read(await external({ exp: now - 100 }))).statusCode, 401, 'expired');
});
