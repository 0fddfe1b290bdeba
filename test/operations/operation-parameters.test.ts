/**
 * Operation input parameters (src/operations/operation-parameters.ts) are read by one rule for
 * every operation: a query parameter or a Parameters body parameter with a primitive value gives
 * that value, a Reference value gives its `reference`, and any other value is refused with 400
 * naming the parameter, rather than answered as if it had not been sent. The OperationDefinition
 * of each operation is the one list of its parameters: undeclared ones, missing required ones, too
 * many and values of the wrong type are 400 with the parameter as expression.
 */
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { assertIssue } from '../helpers/outcome.js';

const MEASURE = '/fhir/Measure/pain-pdi-change/$evaluate-measure';

const period = [
  { name: 'periodStart', valueDate: '2024-01-01' },
  { name: 'periodEnd', valueDate: '2024-12-31' },
];

t.test(`operation input parameters on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const patient = { resourceType: 'Patient', id: 'opparams-1', identifier: [{ system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '999911120' }] };
  t.equal((await request({ method: 'PUT', url: '/fhir/Patient/opparams-1', body: patient })).statusCode, 201);

  t.test('a POSTed Parameters body with primitive values is read', async (t) => {
    const response = await request({ method: 'POST', url: MEASURE, body: { resourceType: 'Parameters', parameter: period } });
    t.equal(response.statusCode, 200);
    const report = response.json();
    t.equal(report.resourceType, 'MeasureReport');
    t.same(report.period, { start: '2024-01-01', end: '2024-12-31' });
    t.equal(report.type, 'summary', 'population report without a subject');
  });

  t.test('a Reference value gives its reference', async (t) => {
    const response = await request({
      method: 'POST',
      url: MEASURE,
      body: { resourceType: 'Parameters', parameter: [...period, { name: 'subject', valueReference: { reference: 'Patient/opparams-1' } }] },
    });
    t.equal(response.statusCode, 200);
    const report = response.json();
    t.equal(report.type, 'individual');
    t.same(report.subject, { reference: 'Patient/opparams-1' });
  });

  t.test('an optional parameter whose value cannot be read is refused, not dropped', async (t) => {
    const response = await request({
      method: 'POST',
      url: MEASURE,
      body: { resourceType: 'Parameters', parameter: [...period, { name: 'reporter', valueCodeableConcept: { text: 'our practice' } }] },
    });
    assertIssue(t, response, 400, 'invalid', 'reporter');
  });

  t.test('a parameter carrying a resource is refused where the operation reads its inputs as text', async (t) => {
    const response = await request({
      method: 'POST',
      url: MEASURE,
      body: { resourceType: 'Parameters', parameter: [...period, { name: 'subject', resource: { resourceType: 'Patient', id: 'inline-opparams' } }] },
    });
    assertIssue(t, response, 400, 'invalid', 'subject');
  });

  t.test('a body that is not Parameters is refused', async (t) => {
    const response = await request({ method: 'POST', url: MEASURE, body: { resourceType: 'Patient', id: 'not-parameters-opparams' } });
    assertIssue(t, response, 400, 'invalid');
  });

  t.test('the OperationDefinition decides: $evaluate-measure', async (t) => {
    const base = `${MEASURE}?periodStart=2024-01-01&periodEnd=2024-12-31`;
    assertIssue(t, await request({ method: 'GET', url: `${MEASURE}?periodStart=2024-01-01` }), 400, 'required', 'periodEnd');
    assertIssue(t, await request({ method: 'GET', url: `${base}&colour=blue` }), 400, 'invalid', 'colour');
    assertIssue(t, await request({ method: 'GET', url: `${base}&periodStart=2024-02-01` }), 400, 'invalid', 'periodStart');
    assertIssue(t, await request({ method: 'GET', url: `${MEASURE}?periodStart=first-of-january&periodEnd=2024-12-31` }), 400, 'value', 'periodStart');
    const posted = await request({
      method: 'POST',
      url: MEASURE,
      body: { resourceType: 'Parameters', parameter: [{ name: 'periodStart', valueInteger: 2024 }, period[1]] },
    });
    assertIssue(t, posted, 400, 'value', 'periodStart');
    const lenient = await request({ method: 'GET', url: `${base}&colour=blue`, headers: { prefer: 'handling=lenient' } });
    t.equal(lenient.statusCode, 200, 'Prefer: handling=lenient ignores an undeclared parameter');
  });

  t.test('the OperationDefinition decides: Task/$claim', async (t) => {
    const claim = (parameter: unknown[]) => request({ method: 'POST', url: '/fhir/Task/$claim', body: { resourceType: 'Parameters', parameter } });
    assertIssue(t, await claim([{ name: 'code', valueString: 'ABCD1234' }]), 400, 'required', 'patient');
    assertIssue(t, await claim([{ name: 'code', valueString: 'ABCD1234' }, { name: 'patient', valueString: '999911120' }, { name: 'bsn', valueString: '999911120' }]), 400, 'invalid', 'bsn');
  });

  t.test('the OperationDefinition decides: ValueSet/$expand', async (t) => {
    const expand = '/fhir/ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/administrative-gender';
    t.equal((await request({ method: 'GET', url: `${expand}&count=2` })).statusCode, 200);
    assertIssue(t, await request({ method: 'GET', url: `${expand}&count=two` }), 400, 'value', 'count');
    assertIssue(t, await request({ method: 'GET', url: `${expand}&displayLanguage=nl` }), 400, 'invalid', 'displayLanguage');
  });

  t.test('every parameter a handler reads is declared: $everything pages with _cursor', async (t) => {
    const first = await request({ method: 'GET', url: '/fhir/Patient/opparams-1/$everything?_count=1&_type=Patient,Provenance' });
    t.equal(first.statusCode, 200);
    const next = (first.json().link as Array<{ relation: string; url: string }>).find((l) => l.relation === 'next');
    t.ok(next, 'a next page');
    const url = new URL(next?.url ?? 'http://x/');
    t.equal((await request({ method: 'GET', url: `${url.pathname}${url.search}` })).statusCode, 200, 'its _cursor is a declared parameter');
  });
});
