// FHIR XML over HTTP (https://hl7.org/fhir/R4/http.html#mime-type): bodies in application/fhir+xml
// for create, update, transaction and $validate; answers in XML for reads, searches, Bundles,
// errors and the CapabilityStatement, chosen by Accept or _format; malformed XML and any DOCTYPE
// (XXE) refused with a 400 OperationOutcome in the negotiated format.
import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { parseFhirXml } from '../../src/fhir/xml/parse.js';
import { createTestApp, engine } from '../helpers/app.js';

const XML = 'application/fhir+xml';
const FHIR = 'xmlns="http://hl7.org/fhir"';
const BSN = 'http://fhir.nl/fhir/NamingSystem/bsn';

function patientXml(bsn: string, family: string, id?: string): string {
  return (
    `<Patient ${FHIR}>${id ? `<id value="${id}"/>` : ''}<identifier><system value="${BSN}"/><value value="${bsn}"/></identifier>` +
    `<name><family value="${family}"/><given value="Anna"/></name><gender value="female"/><birthDate value="1961-04-05"/></Patient>`
  );
}

/** The XML body of a response as FHIR JSON, after checking it is FHIR XML. */
function xmlBody(t: Test, response: LightMyRequestResponse): Record<string, unknown> {
  t.match(response.headers['content-type'], /^application\/fhir\+xml; charset=utf-8/, 'answered in FHIR XML');
  t.match(response.body, /^<[A-Za-z]+ xmlns="http:\/\/hl7\.org\/fhir">/, 'a FHIR XML document');
  return parseFhirXml(response.body, { maxDepth: 64 });
}

function issueCodes(body: Record<string, unknown>): string[] {
  return ((body['issue'] ?? []) as Array<{ code: string }>).map((i) => i.code);
}

t.test(`FHIR XML over HTTP on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const xmlRequest = (method: 'GET' | 'POST' | 'PUT', url: string, body?: string, headers: Record<string, string> = {}) =>
    request({ method, url, ...(body !== undefined ? { body } : {}), headers: { accept: XML, ...(body !== undefined ? { 'content-type': XML } : {}), ...headers } });

  t.test('create, read, update and search in XML', async (t) => {
    const created = await xmlRequest('POST', '/fhir/Patient', patientXml('999900031', 'Visser'));
    t.equal(created.statusCode, 201);
    const body = xmlBody(t, created);
    t.equal(body['resourceType'], 'Patient');
    const id = String(body['id']);
    t.match(created.body, /<meta><versionId value="1"\/><lastUpdated value="[^"]+"\/><\/meta>/, 'meta in definition order');

    const asJson = await request({ method: 'GET', url: `/fhir/Patient/${id}` });
    t.equal(asJson.statusCode, 200);
    t.same(asJson.json().name, [{ family: 'Visser', given: ['Anna'] }], 'stored as the JSON a JSON client sent would be');
    t.same(xmlBody(t, await xmlRequest('GET', `/fhir/Patient/${id}`)), asJson.json(), 'a read in XML carries the same resource');

    const byFormat = await request({ method: 'GET', url: `/fhir/Patient/${id}?_format=xml&_pretty=true` });
    t.match(byFormat.body, /\n {2}<name>\n {4}<family value="Visser"\/>/, '_format=xml with _pretty indents');
    t.same(xmlBody(t, byFormat), asJson.json());
    const plainXml = await request({ method: 'GET', url: `/fhir/Patient/${id}`, headers: { accept: 'application/xml' } });
    t.match(plainXml.headers['content-type'], /^application\/xml/, 'Accept application/xml is honoured');

    const updated = await xmlRequest('PUT', `/fhir/Patient/${id}`, patientXml('999900031', 'Visser-de Boer', id));
    t.equal(updated.statusCode, 200);
    t.equal((xmlBody(t, updated)['meta'] as { versionId: string }).versionId, '2');
    t.same((await request({ method: 'GET', url: `/fhir/Patient/${id}` })).json().name[0].family, 'Visser-de Boer', 'the update was stored');

    const search = await xmlRequest('GET', `/fhir/Patient?identifier=${BSN}|999900031`);
    t.equal(search.statusCode, 200);
    const bundle = xmlBody(t, search);
    t.equal(bundle['type'], 'searchset');
    t.equal(bundle['total'], 1);
    t.match(search.body, new RegExp(`<entry><fullUrl value="[^"]+/Patient/${id}"/><resource><Patient><id value="${id}"/>`), 'entry resources wrapped in their type');
  });

  t.test('a transaction in XML', async (t) => {
    const patientUrn = 'urn:uuid:3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
    const transaction =
      `<Bundle ${FHIR}><type value="transaction"/>` +
      `<entry><fullUrl value="${patientUrn}"/><resource>${patientXml('999900043', 'Smit').replace(` ${FHIR}`, '')}</resource><request><method value="POST"/><url value="Patient"/></request></entry>` +
      `<entry><resource><Observation><status value="final"/><code><coding><system value="http://loinc.org"/><code value="29463-7"/></coding></code>` +
      `<subject><reference value="${patientUrn}"/></subject><effectiveDateTime value="2025-01-08"/>` +
      `<valueQuantity><value value="72.50"/><unit value="kg"/><system value="http://unitsofmeasure.org"/><code value="kg"/></valueQuantity></Observation></resource>` +
      `<request><method value="POST"/><url value="Observation"/></request></entry></Bundle>`;
    const answer = await xmlRequest('POST', '/fhir', transaction);
    t.equal(answer.statusCode, 200);
    const bundle = xmlBody(t, answer);
    t.equal(bundle['type'], 'transaction-response');
    const locations = (bundle['entry'] as Array<{ response: { status: string; location: string } }>).map((e) => e.response);
    t.same(locations.map((l) => l.status.slice(0, 3)), ['201', '201']);
    // Locations may be absolute (https://hl7.org/fhir/R4/bundle.html#transaction-response): Type/id is what follows the base.
    const [patientRef, observationRef] = locations.map((l) => /([A-Za-z]+\/[^/]+)\/_history\/\d+$/.exec(l.location)?.[1]);
    const observation = await request({ method: 'GET', url: `/fhir/${observationRef ?? ''}` });
    t.equal(observation.statusCode, 200);
    t.equal(observation.json().valueQuantity.value, 72.5, 'the decimal is stored as the JSON reader stores it');
    t.equal(observation.json().subject.reference, patientRef, 'the urn:uuid reference was resolved');
  });

  t.test('history, a batch with a failing entry, the audit log and Prefer: return=OperationOutcome in XML', async (t) => {
    const created = xmlBody(t, await xmlRequest('POST', '/fhir/Patient', patientXml('999900067', 'Mulder')));
    const id = String(created['id']);
    const history = await xmlRequest('GET', `/fhir/Patient/${id}/_history`);
    t.equal(history.statusCode, 200);
    t.equal(xmlBody(t, history)['type'], 'history');

    const batch =
      `<Bundle ${FHIR}><type value="batch"/>` +
      `<entry><request><method value="GET"/><url value="Patient/${id}"/></request></entry>` +
      `<entry><request><method value="GET"/><url value="Patient/not-there"/></request></entry></Bundle>`;
    const answer = await xmlRequest('POST', '/fhir', batch);
    t.equal(answer.statusCode, 200);
    const entries = xmlBody(t, answer)['entry'] as Array<{ resource?: { id?: string }; response: { status: string; outcome?: { resourceType: string } } }>;
    t.equal(entries[0]?.resource?.id, id);
    t.match(entries[1]?.response, { status: /^404/, outcome: { resourceType: 'OperationOutcome' } }, 'the failed entry carries its OperationOutcome');

    const audit = await request({ method: 'GET', url: '/fhir/AuditEvent?_count=5', headers: { accept: XML }, as: 'auditor' });
    t.equal(audit.statusCode, 200);
    const auditBundle = xmlBody(t, audit);
    t.ok(((auditBundle['entry'] ?? []) as unknown[]).length > 0, 'audit records written as AuditEvents in XML');

    const withOutcome = await xmlRequest('PUT', `/fhir/Patient/${id}`, patientXml('999900067', 'Mulder', id), { prefer: 'return=OperationOutcome' });
    t.equal(withOutcome.statusCode, 200);
    t.equal(xmlBody(t, withOutcome)['resourceType'], 'OperationOutcome');
  });

  t.test('$validate with an XML Parameters body, and the CapabilityStatement in XML', async (t) => {
    const parameters = `<Parameters ${FHIR}><parameter><name value="resource"/><resource><Patient><gender value="unknown-gender"/></Patient></resource></parameter></Parameters>`;
    const validated = await xmlRequest('POST', '/fhir/Patient/$validate', parameters);
    t.equal(validated.statusCode, 200);
    const outcome = xmlBody(t, validated);
    t.equal(outcome['resourceType'], 'OperationOutcome');
    t.ok(issueCodes(outcome).length > 0, 'the invalid gender is reported');
    t.not(issueCodes(outcome)[0], 'informational');

    const metadata = await request({ method: 'GET', url: '/fhir/metadata', headers: { accept: XML, authorization: '' } });
    t.equal(metadata.statusCode, 200);
    const capabilities = xmlBody(t, metadata);
    t.ok((capabilities['format'] as string[]).includes('application/fhir+xml') && (capabilities['format'] as string[]).includes('application/fhir+json'), 'both formats listed');
  });

  t.test('errors are OperationOutcomes in XML', async (t) => {
    const missing = await xmlRequest('GET', '/fhir/Patient/does-not-exist');
    t.equal(missing.statusCode, 404);
    t.same(issueCodes(xmlBody(t, missing)), ['not-found']);

    const unauthenticated = await request({ method: 'GET', url: '/fhir/Patient', headers: { accept: XML, authorization: '' } });
    t.equal(unauthenticated.statusCode, 401);
    t.equal(xmlBody(t, unauthenticated)['resourceType'], 'OperationOutcome', 'a refused token is answered in XML too');

    const malformed = await xmlRequest('POST', '/fhir/Patient', `<Patient ${FHIR}><gender value="female"></Patient>`);
    t.equal(malformed.statusCode, 400);
    t.same(issueCodes(xmlBody(t, malformed)), ['structure']);

    const namespace = await xmlRequest('POST', '/fhir/Patient', '<Patient xmlns="http://hl7.org/fhir/dstu1"><gender value="female"/></Patient>');
    t.equal(namespace.statusCode, 400);
    t.same((xmlBody(t, namespace)['issue'] as Array<{ code: string; expression: string[] }>).map((i) => [i.code, i.expression]), [['structure', ['Patient']]]);

    const unknown = await xmlRequest('POST', '/fhir/Patient', `<Patient ${FHIR}><nickname value="Annie"/></Patient>`);
    t.equal(unknown.statusCode, 400);
    t.same((xmlBody(t, unknown)['issue'] as Array<{ expression: string[] }>).map((i) => i.expression), [['Patient.nickname']]);

    const jsonAnswer = await request({ method: 'POST', url: '/fhir/Patient', body: `<Patient ${FHIR}><nickname value="Annie"/></Patient>`, headers: { 'content-type': XML } });
    t.equal(jsonAnswer.statusCode, 400);
    t.match(jsonAnswer.headers['content-type'], /^application\/fhir\+json/, 'an XML body with no Accept is answered in JSON');

    t.equal((await request({ method: 'GET', url: '/fhir/Patient', headers: { accept: 'text/turtle' } })).statusCode, 406, 'other formats are still refused');
  });

  t.test('a DOCTYPE is refused: no external entity is read (XXE) and nothing is stored', async (t) => {
    const before = (await request({ method: 'GET', url: `/fhir/Patient?identifier=${BSN}|999900055` })).json().total;
    const xxe =
      `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE Patient [<!ENTITY secret SYSTEM "file:///etc/passwd">]>` +
      `<Patient ${FHIR}><identifier><system value="${BSN}"/><value value="999900055"/></identifier><name><family value="&secret;"/></name></Patient>`;
    const refused = await xmlRequest('POST', '/fhir/Patient', xxe);
    t.equal(refused.statusCode, 400);
    t.same(issueCodes(xmlBody(t, refused)), ['structure']);
    t.notMatch(refused.body, /root:/, 'no file content in the answer');
    const after = (await request({ method: 'GET', url: `/fhir/Patient?identifier=${BSN}|999900055` })).json().total;
    t.equal(after, before, 'nothing stored');
  });
});
