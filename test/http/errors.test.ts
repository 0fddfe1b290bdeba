import t from 'tap';
import { testAuthSetup } from '../helpers/auth.js';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import type { Database } from '../../src/storage/database.js';
import { createTestApp, engine, injector, testConfig } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';

const patient = { resourceType: 'Patient', name: [{ family: 'Smit' }] };

function isOutcome(t: Test, response: { headers: Record<string, unknown>; json(): any }, code?: string) {
  t.match(response.headers['content-type'], /^application\/fhir\+json/);
  const body = response.json();
  t.equal(body.resourceType, 'OperationOutcome');
  if (code) {
    t.equal(body.issue[0].code, code);
  }
}

t.test(`every error is an OperationOutcome with the right status on ${engine}`, async (t) => {
  const { request } = await createTestApp(t, { BODY_LIMIT: '4096', MAX_JSON_DEPTH: '10' });

  const unknownType = await request({ method: 'GET', url: '/fhir/Unicorn/1' });
  t.equal(unknownType.statusCode, 404);
  isOutcome(t, unknownType, 'not-found');
  const unknownRoute = await request({ method: 'GET', url: '/nothing-here' });
  t.equal(unknownRoute.statusCode, 404);
  isOutcome(t, unknownRoute);
  const deepRoute = await request({ method: 'GET', url: '/fhir/Patient/1/_history/1/extra/segments' });
  t.equal(deepRoute.statusCode, 404);

  const methodNotAllowed = await request({ method: 'DELETE', url: '/fhir/metadata' });
  t.equal(methodNotAllowed.statusCode, 405);
  isOutcome(t, methodNotAllowed);

  const xml = await request({ method: 'GET', url: '/fhir/metadata?_format=ttl' });
  t.equal(xml.statusCode, 406);
  isOutcome(t, xml, 'not-supported');
  const acceptXml = await request({ method: 'GET', url: '/fhir/metadata', headers: { accept: 'text/turtle' } });
  t.equal(acceptXml.statusCode, 406);

  const textBody = await request({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'text/plain' }, body: 'hello' });
  t.equal(textBody.statusCode, 415);
  isOutcome(t, textBody, 'not-supported');
  const xmlBody = await request({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'text/turtle' }, body: '<Patient/>' });
  t.equal(xmlBody.statusCode, 415);

  const big = await request({ method: 'POST', url: '/fhir/Patient', body: { ...patient, name: [{ family: 'x'.repeat(5000) }] } });
  t.equal(big.statusCode, 413);
  isOutcome(t, big, 'too-costly');

  const malformed = await request({ method: 'POST', url: '/fhir/Patient', body: '{"resourceType": "Patient",' });
  t.equal(malformed.statusCode, 400);
  isOutcome(t, malformed, 'structure');
  const empty = await request({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json' } });
  t.equal(empty.statusCode, 400);

  let deep: unknown = { url: 'http://x', valueString: 'y' };
  for (let i = 0; i < 12; i++) {
    deep = { url: 'http://x', extension: [deep] };
  }
  const tooDeep = await request({ method: 'POST', url: '/fhir/Patient', body: { ...patient, extension: [deep] } });
  t.equal(tooDeep.statusCode, 400, 'nesting deeper than MAX_JSON_DEPTH');

  const notResource = await request({ method: 'POST', url: '/fhir/Patient', body: [1, 2] });
  t.equal(notResource.statusCode, 400);
  const noType = await request({ method: 'POST', url: '/fhir/Patient', body: { name: [{ family: 'x' }] } });
  t.equal(noType.statusCode, 400);
  const otherType = await request({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Organization', name: 'x' } });
  t.equal(otherType.statusCode, 400);

  const invalid = await request({ method: 'POST', url: '/fhir/Patient', body: { ...patient, gender: 'robot' } });
  t.equal(invalid.statusCode, 422);
  isOutcome(t, invalid, 'code-invalid');
  t.same(invalid.json().issue[0].expression, ['Patient.gender']);
  const missingRequired = await request({ method: 'POST', url: '/fhir/Task', body: { resourceType: 'Task', intent: 'order' } });
  t.equal(missingRequired.statusCode, 422);
  t.ok(missingRequired.json().issue.some((i: any) => i.expression?.includes('Task.status')));
  const invariant = await request({ method: 'POST', url: '/fhir/Patient', body: { ...patient, contact: [{ gender: 'male' }] } });
  t.equal(invariant.statusCode, 422, 'pat-1: a contact needs details');
  t.ok(invariant.json().issue.some((i: any) => i.code === 'invariant'));

  const noBody = await request({ method: 'PUT', url: '/fhir/Patient/x' });
  t.equal(noBody.statusCode, 400);
  const massDelete = await request({ method: 'DELETE', url: '/fhir/Patient' });
  t.equal(massDelete.statusCode, 400, 'no type-level delete without criteria');
  const unknownOperation = await request({ method: 'POST', url: '/fhir/Patient/$frobnicate', body: { resourceType: 'Parameters', parameter: [{ name: 'x', valueString: 'y' }] } });
  t.equal(unknownOperation.statusCode, 404);
});

/** The real database, failing on demand: lets a test reach the 500 path without a fake storage. */
function failingOn(db: Database, pattern: RegExp, failing: () => boolean): Database {
  return {
    ...db,
    query: async (sql, params) => {
      if (failing() && pattern.test(sql)) {
        throw new Error('simulated failure: connection reset by peer at /srv/secret/path.ts:42');
      }
      return db.query(sql, params);
    },
  };
}

t.test(`a 500 never leaks internals on ${engine}`, async (t) => {
  const database = await createTestDatabase();
  const lines: string[] = [];
  // The start (profiles and definitions are installed) reads resources too: fail only once up.
  let started = false;
  const app = await buildApp({
    config: testConfig({ LOG_LEVEL: 'error' }),
    db: failingOn(database.db, /FROM resource\b/, () => started),
    closeDatabase: false,
    auth: await testAuthSetup(),
    logStream: { write: (line) => lines.push(line) },
  });
  t.teardown(async () => {
    await app.close();
    await database.destroy();
  });
  const request = injector(app);
  await request({ method: 'GET', url: '/fhir/metadata' });
  started = true;
  const response = await request({ method: 'GET', url: '/fhir/Patient/anything', headers: { 'x-request-id': 'req-500-test' } });
  t.equal(response.statusCode, 500);
  const body = response.json();
  t.equal(body.resourceType, 'OperationOutcome');
  t.equal(body.issue[0].code, 'exception');
  t.notMatch(response.body, /secret|simulated|stack|\.ts:/, 'no message, path or stack in the response');
  t.match(body.issue[0].diagnostics, /req-500-test/, 'the request id lets an operator find the log line');
  t.ok(lines.some((l) => l.includes('simulated failure') && l.includes('req-500-test')), 'the error is logged with its request id');
});
