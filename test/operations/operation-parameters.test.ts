/**
 * Operation input parameters (src/operations/operation-parameters.ts) are read by one rule for
 * every operation: a query parameter or a Parameters body parameter with a primitive value gives
 * that value, a Reference value gives its `reference`, and any other value is refused with 400
 * naming the parameter, rather than answered as if it had not been sent.
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
});
