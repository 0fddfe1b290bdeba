// The regional network client: Measures and aggregate $evaluate-measure only; no individual record, no writes.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { clientAssertion } from '../helpers/auth.js';
import { assertIssue } from '../helpers/outcome.js';
import type { Json } from '../helpers/search.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const PATIENTS = new Set(['pain-patient-001', 'pain-patient-002', 'pain-patient-003', 'pain-patient-004']);

/** Four patients of the synthetic pain cohort (fixtures/), with everything that refers to them only. */
function cohortSubset(): Json {
  const entries = ['scenario-pain-cohort-1-schedules.json', 'scenario-pain-cohort-2-responses.json']
    .flatMap((f) => JSON.parse(readFileSync(new URL(`../../fixtures/${f}`, import.meta.url), 'utf8')).entry as Json[])
    .filter((e) => [...JSON.stringify(e.resource).matchAll(/pain-patient-\d+/g)].every(([id]) => PATIENTS.has(id)));
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

/** Every key path in a JSON value, for "no subject-level data anywhere" checks. */
function keys(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    value.forEach((v) => keys(v, into));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into.add(k);
      keys(v, into);
    }
  }
  return into;
}

t.test(`the regional network client on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  const loaded = await app.request({ method: 'POST', url: '/fhir', body: cohortSubset() });
  t.equal(loaded.statusCode, 200, 'the cohort subset loads');

  const granted = await app.app.inject({
    method: 'POST',
    url: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await clientAssertion('network'),
      scope: 'system/*.cruds',
    }).toString(),
  });
  t.equal(granted.statusCode, 200, 'the network client gets a token');
  t.equal(granted.json().scope, 'system/Measure.r', 'for Measures, read only, whatever it asks');
  const authorization = `Bearer ${granted.json().access_token as string}`;
  const network = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) => app.request({ method, url: `/fhir/${url}`, body, headers: { authorization } });

  t.test('aggregate figures only', async (t) => {
    t.equal((await network('GET', 'Measure/pain-ndp-completeness')).statusCode, 200, 'reads a Measure');
    const query = 'periodStart=2024-01-01&periodEnd=2025-12-31';
    let counted = 0;
    for (const measure of ['pain-pdi-change', 'pain-pdi-improvement', 'pain-ndp-completeness', 'pain-ndp-follow-up']) {
      const response = await network('GET', `Measure/${measure}/$evaluate-measure?${query}`);
      t.equal(response.statusCode, 200, `${measure} evaluates`, { body: response.body.slice(0, 600) });
      const report = response.json();
      const admin = (await app.request({ method: 'GET', url: `/fhir/Measure/${measure}/$evaluate-measure?${query}` })).json();
      t.same({ ...report, date: undefined }, { ...admin, date: undefined }, `${measure}: the same figures as the integration engine gets`);
      t.equal(report.type, 'summary');
      const present = keys(report);
      for (const key of ['subject', 'evaluatedResource', 'subjectResults', 'subjects', 'contained']) {
        t.notOk(present.has(key), `${measure}: no ${key}`);
      }
      t.notOk(/Patient\/|pain-patient|QuestionnaireResponse\/|Task\//.test(response.body), `${measure}: names no patient or record`);
      counted += report.group.reduce((n: number, g: Json) => n + g.population.find((p: Json) => p.code.coding[0].code === 'initial-population').count, 0);
    }
    t.ok(counted > 0, 'the figures count the patients');
    const byCanonical = await network('GET', `Measure/$evaluate-measure?measure=http://schakel.nl/fhir/Measure/pain-ndp-completeness|1.0.0&${query}`);
    t.equal(byCanonical.statusCode, 200, 'type level, by canonical');
    assertIssue(t, await network('GET', `Measure/pain-pdi-change/$evaluate-measure?${query}&subject=Patient/pain-patient-001`), 403, 'forbidden', 'subject');
    assertIssue(t, await network('GET', `Measure/pain-pdi-change/$evaluate-measure?${query}&patient=Patient/pain-patient-001&reportType=subject`), 403, 'forbidden', 'subject');
    t.equal(
      (await app.request({ method: 'GET', url: `/fhir/Measure/pain-pdi-change/$evaluate-measure?${query}&subject=Patient/pain-patient-001` })).json().type,
      'individual',
      'the integration engine still gets individual reports'
    );
  });

  t.test('no individual record', async (t) => {
    for (const url of [
      'Patient/pain-patient-001',
      'Patient',
      'Patient/pain-patient-001/$everything',
      'Patient/pain-patient-001/Task',
      'Task?patient=Patient/pain-patient-001',
      'QuestionnaireResponse',
      'CarePlan/pain-careplan-001',
      'Observation',
      'Task/_history',
      '_history',
      '?_type=Patient',
      'AuditEvent',
    ]) {
      const response = await network('GET', url);
      assertIssue(t, response, 403, 'forbidden');
    }
    t.equal((await app.request({ method: 'GET', url: '/fhir/Patient/pain-patient-001' })).statusCode, 200, 'the integration engine still reads it');
  });

  t.test('no writes', async (t) => {
    const measure = (await network('GET', 'Measure/pain-ndp-completeness')).json();
    assertIssue(t, await network('PUT', 'Measure/pain-ndp-completeness', { ...measure, title: 'changed' }), 403, 'forbidden');
    assertIssue(t, await network('POST', 'Measure', { ...measure, id: undefined }), 403, 'forbidden');
    assertIssue(t, await network('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Nieuw' }] }), 403, 'forbidden');
    assertIssue(t, await network('DELETE', 'Measure/pain-ndp-completeness'), 403, 'forbidden');
    const batch = await network('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Patient', name: [{ family: 'Nieuw' }] }, request: { method: 'POST', url: 'Patient' } }],
    });
    t.equal(batch.statusCode, 403, 'a transaction writes nothing');
    const patients = (await app.request({ method: 'GET', url: '/fhir/Patient?family=Nieuw&_total=accurate' })).json();
    t.equal(patients.total, 0, 'nothing was written');
    t.equal((await network('GET', 'Measure/pain-ndp-completeness')).json().title, measure.title, 'the Measure is unchanged');
  });
});
