// Strict FHIR JSON (https://hl7.org/fhir/R4/json.html) and the body guards, through HTTP.
import t from 'tap';
import { adminAuthorization } from '../helpers/auth.js';
import { createTestApp, engine } from '../helpers/app.js';
import { assertIssue } from '../helpers/outcome.js';

const FHIR = 'application/fhir+json';
const patientJson = (inner: string) => `{"resourceType":"Patient",${inner}}`;

t.test(`FHIR JSON rules refuse what JSON.parse accepts on ${engine}`, async (t) => {
  const { app } = await createTestApp(t);
  const authorization = await adminAuthorization(app);
  const post = (payload: string | Buffer, contentType = FHIR) =>
    app.inject({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': contentType, authorization }, payload });

  t.equal((await post(patientJson('"gender":"male"'))).statusCode, 201, 'a plain body is accepted');
  t.equal((await post(patientJson('"gender":"male"'), 'application/json')).statusCode, 201, 'application/json too');
  t.equal((await post('\uFEFF' + patientJson('"gender":"male"'))).statusCode, 201, 'a leading BOM is dropped');

  assertIssue(t, await post(patientJson('"gender":"male","gender":"female"')), 400, 'structure', 'Patient.gender');
  assertIssue(t, await post(patientJson('"name":[{"family":"A","family":"B"}]')), 400, 'structure', 'Patient.name[0].family');
  assertIssue(t, await post(patientJson('"birthDate":""')), 400, 'structure', 'Patient.birthDate');
  assertIssue(t, await post(patientJson('"name":[]')), 400, 'structure', 'Patient.name');
  assertIssue(t, await post(patientJson('"name":[{}]')), 400, 'structure', 'Patient.name[0]');
  assertIssue(t, await post(patientJson('"meta":{}')), 400, 'structure', 'Patient.meta');
  assertIssue(t, await post(patientJson('"gender":null')), 400, 'structure', 'Patient.gender');
  assertIssue(t, await post(patientJson('"name":[{"given":["Jan",null]}]')), 400, 'structure', 'Patient.name[0].given[1]');
  assertIssue(t, await post(patientJson('"name":[null]')), 400, 'structure', 'Patient.name[0]');
  // The one legal null: padding an array of primitives whose _name partner has that position.
  const padded = patientJson(
    '"name":[{"given":["Jan",null],"_given":[null,{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier","valueCode":"IN"}]}]}]'
  );
  t.equal((await post(padded)).statusCode, 201, 'null pads a primitive array with extensions');
  assertIssue(t, await post(patientJson('"__proto__":{"admin":true}')), 400, 'structure', 'Patient.__proto__');
  assertIssue(t, await post(patientJson('"constructor":{"prototype":{"admin":true}}')), 400, 'structure', 'Patient.constructor');
  t.equal(({} as Record<string, unknown>)['admin'], undefined, 'no prototype was polluted');
  assertIssue(t, await post(patientJson('"gender":"ma\\u0000le"')), 400, 'structure', 'Patient.gender');
  assertIssue(t, await post(patientJson('"gender":"ma\u0000le"')), 400, 'structure');
  assertIssue(t, await post(patientJson('"name":[{"family":"\\ud800"}]')), 400, 'structure', 'Patient.name[0].family');
  assertIssue(t, await post(patientJson('"name":[{"family":"\\udc00x"}]')), 400, 'structure', 'Patient.name[0].family');
  t.equal((await post(patientJson('"name":[{"family":"\\ud83d\\ude00"}]'))).statusCode, 201, 'a surrogate pair is fine');
  const badUtf8 = Buffer.concat([Buffer.from(patientJson('"name":[{"family":"')), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]);
  assertIssue(t, await post(badUtf8), 400, 'structure');
  const overlong = Buffer.concat([Buffer.from(patientJson('"name":[{"family":"')), Buffer.from([0xc0, 0xaf]), Buffer.from('"}]}')]);
  assertIssue(t, await post(overlong), 400, 'structure');

  for (const malformed of ['{', '{"resourceType":"Patient",}', "{'resourceType':'Patient'}", '{"resourceType":"Patient"} x', '', '[1,2', '{"a":01}', '{"a":NaN}']) {
    assertIssue(t, await post(malformed), 400, malformed === '' ? 'structure' : 'structure');
  }
});

t.test(`nesting depth and body size limits on ${engine}`, async (t) => {
  const { app } = await createTestApp(t, { BODY_LIMIT: '2048', MAX_JSON_DEPTH: '16' });
  const authorization = await adminAuthorization(app);
  const send = (method: 'POST' | 'PATCH', url: string, contentType: string, payload: string) =>
    app.inject({ method, url, headers: { 'content-type': contentType, authorization }, payload });

  const nested = (levels: number) => {
    let ext = '{"url":"https://schakel.test/x","valueString":"a"}';
    for (let i = 0; i < levels; i++) {
      ext = `{"url":"https://schakel.test/x","extension":[${ext}]}`;
    }
    return patientJson(`"extension":[${ext}]`);
  };
  t.equal((await send('POST', '/fhir/Patient', FHIR, nested(5))).statusCode, 201, 'shallow nesting is fine');
  assertIssue(t, await send('POST', '/fhir/Patient', FHIR, nested(12)), 400, 'structure');

  const big = patientJson(`"name":[{"family":"${'x'.repeat(3000)}"}]`);
  for (const type of [FHIR, 'application/json', 'application/json-patch+json', 'application/x-www-form-urlencoded']) {
    const response = await send('POST', '/fhir/Patient', type, big);
    t.equal(response.statusCode, 413, `413 for ${type}`);
    t.equal(response.json().resourceType, 'OperationOutcome');
    t.equal(response.json().issue[0].code, 'too-costly');
  }
  const patchTooLarge = await send('PATCH', '/fhir/Patient/x', 'application/json-patch+json', JSON.stringify([{ op: 'add', path: '/a', value: 'x'.repeat(3000) }]));
  t.equal(patchTooLarge.statusCode, 413, '413 for a JSON Patch body');
});

t.test(`guards of the other body types on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const created = await request({ method: 'PUT', url: '/fhir/Patient/p1', body: { resourceType: 'Patient', id: 'p1', gender: 'male' } });
  t.equal(created.statusCode, 201);
  const authorization = await adminAuthorization(app);
  const patch = (payload: string) =>
    app.inject({ method: 'PATCH', url: '/fhir/Patient/p1', headers: { 'content-type': 'application/json-patch+json', authorization }, payload });
  // JSON Patch bodies are read by the same strict reader as resources (src/http/body-parsers.ts).
  assertIssue(t, await patch('[{"op":"replace","path":"/gender","value":"female"}'), 400, 'structure');
  assertIssue(t, await patch('[{"op":"add","path":"/x","value":{"__proto__":{"admin":true}}}]'), 400, 'structure');
  assertIssue(t, await patch('[{"op":"add","path":"/x","value":{"constructor":{"prototype":{"admin":true}}}}]'), 400, 'structure');
  t.equal(({} as Record<string, unknown>)['admin'], undefined, 'no prototype was polluted');
  t.equal((await patch('[{"op":"replace","path":"/gender","value":"female"}]')).statusCode, 200, 'a valid patch applies');

  const text = await app.inject({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'text/plain', authorization }, payload: 'hello' });
  t.equal(text.statusCode, 415);
  t.equal(text.json().issue[0].code, 'not-supported');
  const xml = await app.inject({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'text/turtle', authorization }, payload: '<Patient/>' });
  t.equal(xml.statusCode, 415);
});
