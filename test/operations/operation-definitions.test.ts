/**
 * The OperationDefinition of every registered operation is stored at start (app.ts,
 * seed/definitions.ts): readable, searchable by url, code, name and _id, with history and vread,
 * idempotent over restarts, and read-only for clients (403, as for the other definitions the
 * server installs).
 */
import t from 'tap';
import type { Bundle, OperationDefinition } from '@medplum/fhirtypes';
import { buildApp } from '../../src/app.js';
import { createTestApp, engine, injector, testConfig } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';
import { assertIssue } from '../helpers/outcome.js';

const CLAIM = 'http://schakel.nl/fhir/OperationDefinition/Task-claim';

function ids(bundle: Bundle): string[] {
  return (bundle.entry ?? []).map((e) => e.resource?.id as string).sort();
}

t.test(`OperationDefinitions are stored resources on ${engine}`, async (t) => {
  const { app, request, database } = await createTestApp(t);

  const read = await request({ method: 'GET', url: '/fhir/OperationDefinition/Task-claim' });
  t.equal(read.statusCode, 200, 'read by id');
  const claim = read.json<OperationDefinition>();
  t.equal(claim.url, CLAIM);
  t.equal(claim.meta?.versionId, '1');
  t.ok(claim.parameter?.some((p) => p.name === 'code' && p.use === 'in' && p.min === 1), 'with its parameters');
  t.equal(read.headers['etag'], 'W/"1"');

  const vread = await request({ method: 'GET', url: '/fhir/OperationDefinition/Task-claim/_history/1' });
  t.equal(vread.statusCode, 200, 'vread');
  const history = (await request({ method: 'GET', url: '/fhir/OperationDefinition/Task-claim/_history' })).json<Bundle>();
  t.equal(history.entry?.length, 1, 'history has the one version');

  t.same(ids((await request({ method: 'GET', url: `/fhir/OperationDefinition?url=${CLAIM}` })).json()), ['Task-claim'], '?url=');
  t.same(ids((await request({ method: 'GET', url: '/fhir/OperationDefinition?code=logbook' })).json()), ['CarePlan-logbook', 'Patient-logbook'], '?code=');
  t.same(ids((await request({ method: 'GET', url: '/fhir/OperationDefinition?name=EvaluateMeasure' })).json()), ['Measure-evaluate-measure'], '?name=');
  t.same(ids((await request({ method: 'GET', url: '/fhir/OperationDefinition?_id=Patient-everything,ValueSet-expand' })).json()), ['Patient-everything', 'ValueSet-expand'], '?_id=');

  const all = (await request({ method: 'GET', url: '/fhir/OperationDefinition?_count=100' })).json<Bundle>();
  t.same(ids(all), [
    'CapabilityStatement-versions',
    'CarePlan-logbook',
    'CarePlan-progress',
    'Measure-evaluate-measure',
    'Patient-everything',
    'Patient-logbook',
    'PlanDefinition-apply',
    'QuestionnaireResponse-extract',
    'Resource-validate',
    'Subscription-events',
    'Subscription-status',
    'Task-claim',
    'ValueSet-expand',
    'export',
    'group-export',
    'patient-export',
  ], 'one per registered operation');

  t.test('clients cannot change or delete them', async (t) => {
    assertIssue(t, await request({ method: 'PUT', url: '/fhir/OperationDefinition/Task-claim', body: { ...claim, description: 'Anders' } }), 403, 'forbidden');
    assertIssue(t, await request({ method: 'DELETE', url: '/fhir/OperationDefinition/Task-claim' }), 403, 'forbidden');
    const patch = [{ op: 'replace', path: '/status', value: 'retired' }];
    const patched = await request({
      method: 'PATCH',
      url: '/fhir/OperationDefinition/Patient-everything',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify(patch),
    });
    assertIssue(t, patched, 403, 'forbidden');
    const after = (await request({ method: 'GET', url: '/fhir/OperationDefinition/Task-claim' })).json<OperationDefinition>();
    t.equal(after.meta?.versionId, '1', 'still the installed version');
    t.equal(after.description, claim.description);
  });

  t.test('a stored copy that differs from the code\'s definition is replaced at the next start', async (t) => {
    // As if an older release had stored another description: the copy in the database is changed
    // behind the API, which a client cannot do (above).
    const older = { ...claim, description: 'An older description' };
    await database.db.query(`UPDATE resource SET content = $1 WHERE resource_type = 'OperationDefinition' AND id = 'Task-claim'`, [JSON.stringify(older)]);
    t.equal(((await request({ method: 'GET', url: '/fhir/OperationDefinition/Task-claim' })).json<OperationDefinition>()).description, 'An older description');
  });

  t.test('a restart puts the code\'s definition back, and an unchanged one writes nothing', async (t) => {
    await app.close();
    const again = await buildApp({ config: testConfig(), db: database.db, closeDatabase: false, auth: await testAuthSetup() });
    t.teardown(() => again.close());
    const request2 = injector(again);
    const restored = (await request2({ method: 'GET', url: '/fhir/OperationDefinition/Task-claim' })).json<OperationDefinition>();
    t.equal(restored.meta?.versionId, '2', 'the older copy is replaced by the code\'s');
    t.equal(restored.description, claim.description);
    const everything = (await request2({ method: 'GET', url: '/fhir/OperationDefinition/Patient-everything' })).json<OperationDefinition>();
    t.equal(everything.meta?.versionId, '1', 'no new version of an unchanged definition');
  });
});
