import t from 'tap';
import { buildApp } from '../../src/app.js';
import { createTestApp, engine, injector, testConfig } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';
import { assertIssue } from '../helpers/outcome.js';

t.test(`definitions in profiles/ are installed at start, readable and read-only on ${engine}`, async (t) => {
  const { app, request, database } = await createTestApp(t);
  for (const [type, id] of [
    ['Questionnaire', 'pdi-1.0.0'],
    ['Questionnaire', 'nrs-pijn-1.0.0'],
    ['CodeSystem', 'pain-outcomes'],
    ['PlanDefinition', 'ndp-1.0.0'],
    ['Measure', 'pain-pdi-change'],
    ['Measure', 'pain-pdi-improvement'],
    ['Measure', 'pain-ndp-completeness'],
    ['Measure', 'pain-ndp-follow-up'],
    ['SearchParameter', 'Task-restriction-period'],
    ['SearchParameter', 'Task-output'],
  ] as const) {
    const read = await request({ method: 'GET', url: `/fhir/${type}/${id}` });
    t.equal(read.statusCode, 200, `${type}/${id} is readable`);
    t.equal(read.json().meta.versionId, '1');
  }
  const pdi = (await request({ method: 'GET', url: '/fhir/Questionnaire?url=http://schakel.nl/fhir/Questionnaire/pdi&version=1.0.0' })).json();
  t.same(pdi.entry.map((e: any) => e.resource.id), ['pdi-1.0.0'], 'found by canonical url and version');
  t.equal(pdi.entry[0].resource.item.filter((i: any) => i.type === 'integer' && i.readOnly !== true).length, 7, 'seven integer questions');
  t.same(pdi.entry[0].resource.item.filter((i: any) => i.readOnly === true).map((i: any) => i.linkId), ['pdi-total'], 'and the calculated total (SDC)');

  const stored = (await request({ method: 'GET', url: '/fhir/Questionnaire/pdi-1.0.0' })).json();
  assertIssue(t, await request({ method: 'PUT', url: '/fhir/Questionnaire/pdi-1.0.0', body: { ...stored, title: 'Anders' } }), 403, 'forbidden');
  assertIssue(t, await request({ method: 'DELETE', url: '/fhir/Measure/pain-pdi-change' }), 403, 'forbidden');
  const same = await request({ method: 'PUT', url: '/fhir/Questionnaire/pdi-1.0.0', body: stored });
  t.equal(same.statusCode, 200, 'writing the same content is allowed');

  const metadata = (await request({ method: 'GET', url: '/fhir/metadata' })).json();
  const task = metadata.rest[0].resource.find((r: any) => r.type === 'Task');
  t.ok(task.searchParam.some((p: any) => p.name === 'restriction-period' && p.type === 'date'), 'restriction-period is advertised');
  const measure = metadata.rest[0].resource.find((r: any) => r.type === 'Measure');
  t.ok(measure.operation.some((o: any) => o.name === 'evaluate-measure'), '$evaluate-measure is advertised');

  // A restart with unchanged files writes nothing new.
  await app.close();
  const again = await buildApp({ config: testConfig(), db: database.db, closeDatabase: false , auth: await testAuthSetup() });
  t.teardown(() => again.close());
  const after = (await injector(again)({ method: 'GET', url: '/fhir/Questionnaire/nrs-pijn-1.0.0' })).json();
  t.equal(after.meta.versionId, '1', 'no new version on restart');
});
