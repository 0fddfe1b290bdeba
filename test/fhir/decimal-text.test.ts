// A decimal's precision is part of its value (https://hl7.org/fhir/R4/datatypes.html#decimal,
// json.html#primitive): 1.50 leaves the server as 1.50 through every interaction that answers or
// stores a resource, in JSON and XML, and a search on the value as written finds it.
import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, engine } from '../helpers/app.js';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const BSN = 'http://fhir.nl/fhir/NamingSystem/bsn';

/** Observation JSON text with decimals whose JS rendering differs from how they are written. */
function observationText(patientId: string, code: string, extra = ''): string {
  return (
    `{"resourceType":"Observation","status":"final",` +
    `"code":{"coding":[{"system":"${LOINC}","code":"${code}"}]},"subject":{"reference":"Patient/${patientId}"},${extra}` +
    `"valueQuantity":{"value":1.50,"unit":"mmol/L","system":"${UCUM}","code":"mmol/L"},` +
    `"referenceRange":[{"low":{"value":0.10,"unit":"mmol/L"},"high":{"value":100.0,"unit":"mmol/L"}}],` +
    `"component":[` +
    `{"code":{"text":"exponent"},"valueQuantity":{"value":1e2,"unit":"mmol/L"}},` +
    `{"code":{"text":"negative zero"},"valueQuantity":{"value":-0.0,"unit":"mmol/L"}},` +
    `{"code":{"text":"integer"},"valueInteger":7}]}`
  );
}

/** Every decimal of observationText, written as it was sent. */
function hasDecimalsAsWritten(t: Test, text: string, what: string): void {
  const compact = text.replace(/\s+/g, '');
  t.match(compact, /"valueQuantity":\{"value":1\.50,/, `${what}: 1.50 stays 1.50`);
  t.match(compact, /"low":\{"value":0\.10,/, `${what}: 0.10 stays 0.10`);
  t.match(compact, /"high":\{"value":100\.0,/, `${what}: 100.0 stays 100.0`);
  t.match(compact, /"value":1e2,/, `${what}: 1e2 stays 1e2`);
  t.match(compact, /"value":-0\.0,/, `${what}: -0.0 stays -0.0`);
  t.match(compact, /"valueInteger":7\}/, `${what}: an integer stays an integer`);
}

function entries(response: LightMyRequestResponse): Array<{ resource?: { id?: string } }> {
  return response.json<{ entry?: Array<{ resource?: { id?: string } }> }>().entry ?? [];
}

t.test(`decimal precision end to end on ${engine}`, async (t) => {
  const { request, database } = await createTestApp(t);
  const patient = await request({
    method: 'POST',
    url: '/fhir/Patient',
    body: { resourceType: 'Patient', identifier: [{ system: BSN, value: '999911120' }], name: [{ family: 'Decimaal' }] },
  });
  t.equal(patient.statusCode, 201);
  const patientId = String(patient.json().id);
  const representation = { prefer: 'return=representation' };

  const create = (code: string, extra = '') =>
    request({ method: 'POST', url: '/fhir/Observation', body: observationText(patientId, code, extra), headers: representation });

  t.test('create, read, vread, history, search and the stored row', async (t) => {
    const created = await create('2339-0');
    t.equal(created.statusCode, 201);
    hasDecimalsAsWritten(t, created.body, 'create representation');
    const id = String(created.json().id);
    t.equal(created.json().valueQuantity.value, 1.5, 'still the number 1.5 to a JSON reader');

    const rows = await database.db.query<{ content: string }>('SELECT content FROM resource WHERE resource_type = $1 AND id = $2', ['Observation', id]);
    hasDecimalsAsWritten(t, rows[0]?.content ?? '', 'stored content');

    const read = await request({ method: 'GET', url: `/fhir/Observation/${id}` });
    hasDecimalsAsWritten(t, read.body, 'read');
    t.equal(read.body.charAt(0), '{', 'answered without the mark of stored text that holds kept decimals');
    hasDecimalsAsWritten(t, (await request({ method: 'GET', url: `/fhir/Observation/${id}?_pretty=true` })).body, 'read with _pretty');
    hasDecimalsAsWritten(t, (await request({ method: 'GET', url: `/fhir/Observation/${id}/_history/1` })).body, 'vread');
    hasDecimalsAsWritten(t, (await request({ method: 'GET', url: `/fhir/Observation/${id}/_history` })).body, 'instance history');
    const search = await request({ method: 'GET', url: `/fhir/Observation?_id=${id}` });
    t.equal(entries(search).length, 1);
    hasDecimalsAsWritten(t, search.body, 'search Bundle');
    const summary = await request({ method: 'GET', url: `/fhir/Observation?_id=${id}&_summary=data` });
    hasDecimalsAsWritten(t, summary.body, '_summary=data');
    const elements = await request({ method: 'GET', url: `/fhir/Observation?_id=${id}&_elements=valueQuantity` });
    t.match(elements.body, /"valueQuantity":\{"value":1\.50,/, '_elements');
  });

  t.test('a search on the value as written finds it', async (t) => {
    const created = await create('2345-7');
    const id = String(created.json().id);
    const found = async (value: string) =>
      entries(await request({ method: 'GET', url: `/fhir/Observation?code=${LOINC}|2345-7&value-quantity=${encodeURIComponent(value)}` })).map(
        (e) => e.resource?.id
      );
    t.same(await found('1.50'), [id], '1.50 finds 1.50');
    t.same(await found(`1.50|${UCUM}|mmol/L`), [id], 'with system and code');
    t.same(await found('1.5'), [id], '1.5 (the range [1.45, 1.55)) holds 1.50');
    t.same(await found('1.500'), [id], '1.500 (the range [1.4995, 1.5005)) holds 1.50');
    t.same(await found('1.51'), [], '1.51 does not');
    t.same(await found('ge1.50'), [id], 'ge1.50');
    t.same(await found('gt1.50'), [], 'gt1.50');
  });

  t.test('search bounds are exact decimals, and the index holds digits a double cannot', async (t) => {
    const observation = (code: string, value: string) =>
      request({
        method: 'POST',
        url: '/fhir/Observation',
        body:
          `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"${LOINC}","code":"${code}"}]},` +
          `"subject":{"reference":"Patient/${patientId}"},"valueQuantity":{"value":${value},"unit":"mmol/L"}}`,
        headers: representation,
      });
    const found = async (code: string, value: string) =>
      entries(await request({ method: 'GET', url: `/fhir/Observation?code=${LOINC}|${code}&value-quantity=${value}` })).length;
    t.equal((await observation('14749-6', '0.15')).statusCode, 201);
    // In doubles 0.2 - 0.05 is 0.15000000000000002 and 0.1 + 0.05 is 0.15000000000000002.
    t.equal(await found('14749-6', '0.2'), 1, 'eq0.2 covers [0.15, 0.25): holds 0.15');
    t.equal(await found('14749-6', '0.1'), 0, 'eq0.1 covers [0.05, 0.15): not 0.15');

    const long = await observation('14771-0', '12345678901234567.5');
    t.equal(long.statusCode, 201);
    t.match(long.body, /"value":12345678901234567\.5,/, 'answered with all its digits');
    t.equal(await found('14771-0', '12345678901234567.5'), 1, 'found by all its digits');
    t.equal(await found('14771-0', '12345678901234568.0'), 0, 'not by the double it is closest to');
  });

  t.test('PATCH of another element keeps the decimals; a patched decimal is kept as written', async (t) => {
    const id = String((await create('2093-3')).json().id);
    const patch = (ops: string) =>
      request({ method: 'PATCH', url: `/fhir/Observation/${id}`, body: ops, headers: { 'content-type': 'application/json-patch+json', ...representation } });
    const other = await patch('[{"op":"replace","path":"/status","value":"amended"}]');
    t.equal(other.statusCode, 200);
    hasDecimalsAsWritten(t, other.body, 'patch response');
    hasDecimalsAsWritten(t, (await request({ method: 'GET', url: `/fhir/Observation/${id}` })).body, 'read after patch');

    const value = await patch('[{"op":"replace","path":"/valueQuantity/value","value":2.50}]');
    t.equal(value.statusCode, 200);
    t.match((await request({ method: 'GET', url: `/fhir/Observation/${id}` })).body, /"valueQuantity":\{"value":2\.50,/, 'the patched value as written');
  });

  t.test('PUT of another element keeps the decimals; 1.5 over 1.50 is a change', async (t) => {
    const id = String((await create('2571-8')).json().id);
    const put = (text: string) => request({ method: 'PUT', url: `/fhir/Observation/${id}`, body: text, headers: representation });
    const withId = (text: string) => text.replace('{"resourceType":"Observation",', `{"resourceType":"Observation","id":"${id}",`);
    const updated = await put(withId(observationText(patientId, '2571-8', '"issued":"2026-01-02T10:00:00Z",')));
    t.equal(updated.statusCode, 200);
    t.equal(updated.json().meta.versionId, '2');
    hasDecimalsAsWritten(t, (await request({ method: 'GET', url: `/fhir/Observation/${id}` })).body, 'read after update');

    const same = await put(withId(observationText(patientId, '2571-8', '"issued":"2026-01-02T10:00:00Z",')));
    t.equal(same.json().meta.versionId, '2', 'the same text again is no new version');
    const lessPrecise = await put(withId(observationText(patientId, '2571-8', '"issued":"2026-01-02T10:00:00Z",').replace('"value":1.50,', '"value":1.5,')));
    t.equal(lessPrecise.json().meta.versionId, '3', '1.5 is another value than 1.50');
    t.match((await request({ method: 'GET', url: `/fhir/Observation/${id}` })).body, /"valueQuantity":\{"value":1\.5,/);
  });

  t.test('a transaction answers and stores the decimals as written', async (t) => {
    const bundle =
      `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:5b0f3c8e-2a61-4a8e-9d0e-0c1f4e3a7b21",` +
      `"resource":${observationText(patientId, '2160-0')},"request":{"method":"POST","url":"Observation"}}]}`;
    const response = await request({ method: 'POST', url: '/fhir', body: bundle, headers: representation });
    t.equal(response.statusCode, 200);
    hasDecimalsAsWritten(t, response.body, 'transaction-response');
    const id = String(entries(response)[0]?.resource?.id);
    hasDecimalsAsWritten(t, (await request({ method: 'GET', url: `/fhir/Observation/${id}` })).body, 'read after transaction');
  });

  t.test('XML answers and XML bodies keep the decimals as written', async (t) => {
    const id = String((await create('2947-0')).json().id);
    const xml = await request({ method: 'GET', url: `/fhir/Observation/${id}`, headers: { accept: 'application/fhir+xml' } });
    t.equal(xml.statusCode, 200);
    t.match(xml.body, /<valueQuantity><value value="1\.50"\/>/, 'XML read: 1.50');
    t.match(xml.body, /<low><value value="0\.10"\/>/, 'XML read: 0.10');
    t.match(xml.body, /<high><value value="100\.0"\/>/, 'XML read: 100.0');
    t.match(xml.body, /<valueInteger value="7"\/>/, 'XML read: the integer');

    const sent =
      `<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><coding><system value="${LOINC}"/><code value="2951-2"/></coding></code>` +
      `<subject><reference value="Patient/${patientId}"/></subject><valueQuantity><value value="1.50"/><unit value="mmol/L"/></valueQuantity></Observation>`;
    const created = await request({ method: 'POST', url: '/fhir/Observation', body: sent, headers: { 'content-type': 'application/fhir+xml' } });
    t.equal(created.statusCode, 201);
    const location = String(created.headers['location']).replace(/^.*\/fhir\//, '/fhir/').replace(/\/_history\/\d+$/, '');
    t.match((await request({ method: 'GET', url: location })).body, /"valueQuantity":\{"value":1\.50,/, 'an XML create read back in JSON');
  });
});
