import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { clientAssertion, tokenFor, userAssertion } from '../helpers/auth.js';

t.test(`log lines carry ids and timings, never patient data, on ${engine}`, async (t) => {
  const lines: string[] = [];
  const { app, request } = await createTestApp(t, { LOG_LEVEL: 'info' }, { logStream: { write: (line) => lines.push(line) } });
  const token = await tokenFor(app, 'admin');
  const bsn = '999900031';
  const created = await request({
    method: 'POST',
    url: '/fhir/Patient',
    headers: { 'x-request-id': 'trace-abc', authorization: `Bearer ${token}` },
    body: { resourceType: 'Patient', identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: bsn }], name: [{ family: 'Geheimnaam' }] },
  });
  t.equal(created.headers['x-request-id'], 'trace-abc', 'the request id is echoed');
  await request({ method: 'GET', url: `/fhir/Patient/${created.json().id}?identifier=${bsn}` });
  await request({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Patient', gender: 'robot', name: [{ family: 'Geheimnaam' }] } });
  const refused = await request({ method: 'GET', url: `/fhir/Patient?identifier=${bsn}`, headers: { authorization: 'Bearer secret-token-value' } });
  t.equal(refused.statusCode, 401, 'a bad token is refused');
  // A token request: its assertions and the token it answers are secrets too.
  const client = await clientAssertion('gp');
  const user = await userAssertion('gp');
  const issued = await app.inject({
    method: 'POST',
    url: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: client,
      user_assertion: user,
      scope: 'user/Patient.rs',
    }).toString(),
  });
  t.equal(issued.statusCode, 200);

  const entries = lines.map((l) => JSON.parse(l));
  const completed = entries.filter((e) => e.msg === 'request completed');
  t.equal(completed.length, 5);
  const first = completed[0];
  t.equal(first.reqId, 'trace-abc');
  t.equal(first.method, 'POST');
  t.equal(first.interaction, 'create');
  t.equal(first.resourceType, 'Patient');
  t.equal(first.status, 201);
  t.type(first.durationMs, 'number');
  t.equal(completed[3].status, 401);
  const all = lines.join('\n');
  t.notMatch(all, new RegExp(bsn), 'no BSN');
  t.notMatch(all, /Geheimnaam/, 'no names');
  t.notMatch(all, /secret-token-value/, 'no tokens');
  t.notMatch(all, new RegExp(token.split('.')[2] as string), 'no valid tokens either');
  t.notMatch(all, new RegExp((issued.json().access_token as string).split('.')[2] as string), 'no issued tokens');
  t.notMatch(all, new RegExp(client.split('.')[2] as string), 'no client assertions');
  t.notMatch(all, new RegExp(user.split('.')[2] as string), 'no user assertions');
  t.notMatch(all, /999990001/, 'no practitioner identifiers');
  t.notMatch(all, new RegExp(created.json().id), 'no resource ids from the URL');
});

t.test(`a write the database refuses logs no patient data, on ${engine}`, async (t) => {
  const lines: string[] = [];
  const { request, database } = await createTestApp(t, { LOG_LEVEL: 'info' }, { logStream: { write: (line) => lines.push(line) } });
  // A real refusal by the database: PostgreSQL then reports the failing row, and PGlite the
  // statement's parameters, with the error.
  await database.db.exec(`ALTER TABLE resource ADD CONSTRAINT refuse_marked CHECK (content NOT LIKE '%Weigernaam%') NOT VALID`);
  const bsn = '999900043';
  const refused = await request({
    method: 'POST',
    url: '/fhir/Patient',
    body: {
      resourceType: 'Patient',
      identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: bsn }],
      name: [{ family: 'Weigernaam' }],
      telecom: [{ system: 'phone', value: '0612345678' }],
    },
  });
  t.equal(refused.statusCode, 500, 'an unexpected database error');
  t.equal(refused.json().resourceType, 'OperationOutcome');
  const errors = lines.map((l) => JSON.parse(l)).filter((e) => e.level === 'error');
  t.ok(errors.length > 0, 'the failure is logged');
  t.equal(errors[0].err?.code, '23514', 'with its SQLSTATE');
  const all = lines.join('\n');
  t.notMatch(all, new RegExp(bsn), 'no BSN');
  t.notMatch(all, /Weigernaam/, 'no names');
  t.notMatch(all, /0612345678/, 'no phone numbers');
  t.notMatch(all, /INSERT INTO/i, 'no SQL text');
});
