// Every search parameter type with its prefixes and modifiers: https://hl7.org/fhir/R4/search.html
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { BSN, ids, put, search } from '../helpers/search.js';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

t.test(`string, token, date, number, quantity, uri and composite search on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await put(app, {
    resourceType: 'Patient',
    id: 'jansen',
    identifier: [
      { system: BSN, value: '999900018' },
      { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }], text: 'Dossiernummer' }, system: 'urn:oid:2.16.528.1', value: 'MR-77' },
    ],
    name: [{ family: 'Jansen', given: ['Ömer', 'Piet'] }],
    telecom: [{ system: 'email', value: 'omer@example.nl' }],
    gender: 'male',
    birthDate: '1950-02-03',
    active: true,
    address: [{ city: 'Utrecht', postalCode: '3511 AB' }],
    meta: { tag: [{ system: 'http://schakel.nl/tags', code: 'zorgbrug' }], profile: ['http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient'], source: 'http://gp.example/system', security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
  });
  await put(app, { resourceType: 'Patient', id: 'de-vries', name: [{ family: 'de Vries', given: ['Anna'] }], gender: 'female', birthDate: '1962', active: false, identifier: [{ system: BSN, value: '999900031' }] });
  await put(app, { resourceType: 'Patient', id: 'jan', name: [{ family: 'Jan', given: ['Kees'] }], birthDate: '1950-02-03' });

  t.test('string: starts-with, case and accent insensitive, :exact, :contains', async (t) => {
    t.same(await ids(app, 'Patient?family=jan'), ['jan', 'jansen']);
    t.same(await ids(app, 'Patient?family=JANS'), ['jansen']);
    t.same(await ids(app, 'Patient?given=omer'), ['jansen'], 'Ömer found without the accent');
    t.same(await ids(app, 'Patient?given=ÖMER'), ['jansen']);
    t.same(await ids(app, 'Patient?name=piet'), ['jansen'], 'name matches any part');
    t.same(await ids(app, 'Patient?name=anna%20de'), ['de-vries'], 'and the whole name');
    t.same(await ids(app, 'Patient?family:exact=Jan'), ['jan']);
    t.same(await ids(app, 'Patient?family:exact=jan'), [], ':exact is case-sensitive');
    t.same(await ids(app, 'Patient?family:contains=vrie'), ['de-vries']);
    t.same(await ids(app, 'Patient?family:contains=ANS'), ['jansen']);
    t.same(await ids(app, 'Patient?family:contains=%25'), [], 'LIKE wildcards in a value are literal');
    t.same(await ids(app, 'Patient?address-city=utr'), ['jansen']);
    t.same(await ids(app, 'Patient?family=vries'), [], 'starts-with, not contains');
    t.same(await ids(app, 'Patient?family=jan,de'), ['de-vries', 'jan', 'jansen'], 'comma is OR');
    t.same(await ids(app, 'Patient?family=jan&given=kees'), ['jan'], 'repeated parameters are AND');
  });

  t.test('token: code, system|code, |code, system|, :not, :text, :of-type', async (t) => {
    t.same(await ids(app, 'Patient?identifier=999900018'), ['jansen']);
    t.same(await ids(app, `Patient?identifier=${BSN}|999900018`), ['jansen']);
    t.same(await ids(app, `Patient?identifier=${BSN}|`), ['de-vries', 'jansen']);
    t.same(await ids(app, 'Patient?identifier=http://other|999900018'), []);
    t.same(await ids(app, 'Patient?gender=|male'), ['jansen'], '|code matches codes without a system');
    t.same(await ids(app, `Patient?identifier=|999900018`), [], 'the BSN has a system');
    t.same(await ids(app, 'Patient?gender=male,female'), ['de-vries', 'jansen']);
    t.same(await ids(app, 'Patient?gender:not=male'), ['de-vries', 'jan'], ':not includes resources without a value');
    t.same(await ids(app, 'Patient?active=true'), ['jansen']);
    t.same(await ids(app, 'Patient?active=false'), ['de-vries']);
    t.same(await ids(app, 'Patient?email=omer@example.nl'), ['jansen']);
    t.same(await ids(app, 'Patient?identifier:text=dossier'), ['jansen']);
    t.same(await ids(app, 'Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|MR-77'), ['jansen']);
    t.same(await ids(app, 'Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|999900018'), []);
    t.same(await ids(app, 'Patient?_id=jan,de-vries'), ['de-vries', 'jan']);
  });

  t.test('common parameters: _tag, _profile, _security, _source, _lastUpdated', async (t) => {
    t.same(await ids(app, 'Patient?_tag=http://schakel.nl/tags|zorgbrug'), ['jansen']);
    t.same(await ids(app, 'Patient?_tag=zorgbrug'), ['jansen']);
    t.same(await ids(app, '/fhir?_tag=zorgbrug'), ['jansen'], 'system search over every type');
    t.same(await ids(app, 'Patient?_profile=http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient'), ['jansen']);
    t.same(await ids(app, 'Patient?_security=R'), ['jansen']);
    t.same(await ids(app, 'Patient?_source=http://gp.example/system'), ['jansen']);
    t.same(await ids(app, 'Patient?_lastUpdated=gt2000-01-01'), ['de-vries', 'jan', 'jansen']);
    t.same(await ids(app, 'Patient?_lastUpdated=lt2000-01-01'), []);
    const read = await app.request({ method: 'GET', url: '/fhir/Patient/jan' });
    const instant = read.json().meta.lastUpdated as string;
    t.same(await ids(app, `Patient?_lastUpdated=${encodeURIComponent(instant)}`), ['jan'], 'eq on the exact instant');
    t.same(await ids(app, `Patient?_lastUpdated=ge${encodeURIComponent(instant)}&_id=jan`), ['jan']);
    t.same(await ids(app, `Patient?_lastUpdated=gt${encodeURIComponent(instant)}&_id=jan`), []);
  });

  t.test('date: precision and every prefix', async (t) => {
    const obs = (id: string, effective: Record<string, unknown>) =>
      put(app, { resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: LOINC, code: '8867-4' }] }, ...effective });
    await obs('a', { effectiveDateTime: '2024-03-01T10:00:00Z' });
    await obs('b', { effectiveDateTime: '2024-03-15' });
    await obs('c', { effectivePeriod: { start: '2024-02-20', end: '2024-03-10' } });
    await obs('d', { effectiveDateTime: '2023-12-31T23:00:00Z' });
    await obs('e', { effectivePeriod: { start: '2024-04-01' } });
    await obs('far', { effectiveDateTime: '2001-06-01' });
    const q = (value: string) => ids(app, `Observation?date=${encodeURIComponent(value)}&_id=a,b,c,d,e`);
    t.same(await q('2024-03'), ['a', 'b'], 'eq: the month contains the value');
    t.same(await q('eq2024-03'), ['a', 'b']);
    t.same(await q('ne2024-03'), ['c', 'd', 'e']);
    t.same(await q('gt2024-03'), ['e'], 'gt: extends after the month (open period)');
    t.same(await q('lt2024-03'), ['c', 'd']);
    t.same(await q('ge2024-03'), ['a', 'b', 'e']);
    t.same(await q('le2024-03'), ['a', 'b', 'c', 'd']);
    t.same(await q('sa2024-03'), ['e']);
    t.same(await q('eb2024-03'), ['d']);
    t.same(await q('2024-03-01T10:00:00Z'), ['a'], 'to the second');
    t.same(await q('2024-03-01T10:00:00+01:00'), [], 'time zones count');
    t.same(await q('2024-03-01T11:00:00+01:00'), ['a']);
    t.same(await q('2024'), ['a', 'b', 'c'], 'the year contains the February period');
    t.same(await q('2024-03-05'), [], 'a day does not contain a longer period');
    t.same(await ids(app, 'Observation?date=ap2024-03-01&_id=a,far'), ['a']);
    t.same(await ids(app, 'Patient?birthdate=1950-02-03'), ['jan', 'jansen']);
    t.same(await ids(app, 'Patient?birthdate=1962-05-01'), [], 'a year-only birthDate is not within a day');
    t.same(await ids(app, 'Patient?birthdate=1962'), ['de-vries']);
    t.same(await ids(app, 'Patient?birthdate=lt1960'), ['jan', 'jansen']);
  });

  t.test('number and quantity with prefixes and units', async (t) => {
    const risk = (id: string, prediction: Record<string, unknown>) =>
      put(app, { resourceType: 'RiskAssessment', id, status: 'final', subject: { reference: 'Patient/jansen' }, prediction: [prediction] });
    await risk('r25', { probabilityDecimal: 0.25 });
    await risk('r70', { probabilityDecimal: 0.7 });
    await risk('r-range', { probabilityRange: { low: { value: 0.4, system: UCUM, code: '%' }, high: { value: 0.6, system: UCUM, code: '%' } } });
    const q = (value: string) => ids(app, `RiskAssessment?probability=${value}`);
    t.same(await q('0.25'), ['r25']);
    t.same(await q('0.2'), [], 'precision: 0.2 covers [0.15, 0.25), without 0.25');
    t.same(await q('0.3'), ['r25'], '0.3 covers [0.25, 0.35)');
    t.same(await q('gt0.5'), ['r-range', 'r70']);
    t.same(await q('lt0.5'), ['r-range', 'r25']);
    t.same(await q('ge0.7'), ['r70']);
    t.same(await q('le0.25'), ['r25']);
    t.same(await q('ne0.25'), ['r-range', 'r70']);
    t.same(await q('sa0.3'), ['r-range', 'r70']);
    t.same(await q('eb0.3'), ['r25']);
    t.same(await q('ap0.7'), ['r70']);
    t.same(await q('0.5'), [], 'a range is not within 0.5');
    t.same(await q('1e-1'), [], 'exponent form: 0.1 at one significant digit covers [0.05, 0.15)');

    const bp = (id: string, value: number, unit = 'mm[Hg]') =>
      put(app, { resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value, unit: unit === 'kPa' ? 'kPa' : 'mmHg', system: UCUM, code: unit } });
    await bp('bp120', 120);
    await bp('bp150', 150);
    await bp('bp-kpa', 16, 'kPa');
    const v = (value: string) => ids(app, `Observation?value-quantity=${encodeURIComponent(value)}`);
    t.same(await v('120'), ['bp120']);
    t.same(await v(`gt130|${UCUM}|mm[Hg]`), ['bp150']);
    t.same(await v(`lt130|${UCUM}|mm[Hg]`), ['bp120']);
    t.same(await v(`lt130|${UCUM}|kPa`), ['bp-kpa']);
    t.same(await v('ge16||mmHg'), ['bp120', 'bp150'], 'without a system the unit is compared too');
    t.same(await v('150|http://other|mm[Hg]'), []);
    t.same(await v('ne120'), ['bp-kpa', 'bp150']);
    t.same(await v('ap150'), ['bp150']);
  });

  t.test('uri with :below and :above; composite', async (t) => {
    const questionnaire = (id: string, url: string) => put(app, { resourceType: 'Questionnaire', id, status: 'active', url });
    // Under schakel.test: the server's own Questionnaires (profiles/) live under http://schakel.nl/fhir.
    await questionnaire('pdi', 'http://schakel.test/fhir/Questionnaire/pdi');
    await questionnaire('pdi-nl', 'http://schakel.test/fhir/Questionnaire/pdi/nl');
    await questionnaire('other', 'http://example.org/fhir/Questionnaire/x');
    t.same(await ids(app, 'Questionnaire?url=http://schakel.test/fhir/Questionnaire/pdi'), ['pdi']);
    t.same(await ids(app, 'Questionnaire?url:below=http://schakel.test/fhir'), ['pdi', 'pdi-nl']);
    t.same(await ids(app, 'Questionnaire?url:above=http://schakel.test/fhir/Questionnaire/pdi/nl/v2'), ['pdi', 'pdi-nl']);

    await put(app, {
      resourceType: 'Observation',
      id: 'bp',
      status: 'final',
      code: { coding: [{ system: LOINC, code: '85354-9' }] },
      component: [
        { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 150, system: UCUM, code: 'mm[Hg]' } },
        { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 85, system: UCUM, code: 'mm[Hg]' } },
      ],
    });
    const c = (value: string) => ids(app, `Observation?component-code-value-quantity=${encodeURIComponent(value)}`);
    t.same(await c(`${LOINC}|8480-6$gt140`), ['bp'], 'systolic above 140');
    t.same(await c(`${LOINC}|8462-4$gt140`), [], 'diastolic is not: code and value come from the same component');
    t.same(await c(`8462-4$lt90|${UCUM}|mm[Hg]`), ['bp']);
    t.same(await c(`8462-4$gt90,8480-6$gt140`), ['bp']);
    t.same(await ids(app, `Observation?code-value-quantity=${encodeURIComponent(`${LOINC}|8480-6$120`)}`), ['bp120']);
  });

  t.test(':missing on every type', async (t) => {
    t.same(await ids(app, 'Patient?gender:missing=true'), ['jan']);
    t.same(await ids(app, 'Patient?gender:missing=false'), ['de-vries', 'jansen']);
    t.same(await ids(app, 'Patient?email:missing=false'), ['jansen']);
    t.same(await ids(app, 'Patient?address-city:missing=true'), ['de-vries', 'jan']);
    t.same(await ids(app, 'Patient?birthdate:missing=true'), []);
    t.same(await ids(app, 'Patient?general-practitioner:missing=true'), ['de-vries', 'jan', 'jansen']);
    t.same(await ids(app, 'RiskAssessment?probability:missing=false'), ['r-range', 'r25', 'r70']);
    t.same(await ids(app, 'Observation?value-quantity:missing=false&code=8480-6'), ['bp-kpa', 'bp120', 'bp150']);
    // The server's own Questionnaires (profiles/) were installed before the test's writes.
      t.same(await ids(app, `Questionnaire?url:missing=false&_lastUpdated=ge${encodeURIComponent(app.startedAt)}`), ['other', 'pdi', 'pdi-nl']);
    t.same(await ids(app, 'Observation?component-code-value-quantity:missing=false'), ['bp']);
  });

  t.test('the index follows updates and deletes', async (t) => {
    await put(app, { resourceType: 'Patient', id: 'jan', name: [{ family: 'Pietersen' }], birthDate: '1950-02-03' });
    t.same(await ids(app, 'Patient?family=jan'), ['jansen'], 'the old name is gone');
    t.same(await ids(app, 'Patient?family=pieter'), ['jan']);
    t.equal((await app.request({ method: 'DELETE', url: '/fhir/Patient/jan' })).statusCode, 200);
    t.same(await ids(app, 'Patient?family=pieter'), []);
    t.same(await ids(app, 'Patient?birthdate=1950-02-03'), ['jansen']);
    t.same(await ids(app, 'Patient?_id=jan'), [], 'a deleted resource is not found by _id');
    const plain = await search(app, 'Patient');
    t.same([...plain.ids].sort(), ['de-vries', 'jansen']);
  });
});
