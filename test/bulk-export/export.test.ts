// Bulk Data export through HTTP: kick-off, status, manifest, files, narrowing, cancel, expiry, resume.
import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { createHmac } from 'node:crypto';
import { ExportRunner } from '../../src/bulk-export/export-runner.js';
import type { Database } from '../../src/storage/database.js';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { principalFor, tokenFor, type DemoName } from '../helpers/auth.js';
import { careScenario, observation } from '../helpers/care-scenario.js';
import { BSN, put, type Json } from '../helpers/search.js';

const KEY = 'test-pseudonym-key-0123456789abcdef';
const ASYNC = { prefer: 'respond-async', accept: 'application/fhir+json' };

interface Caller {
  readonly as?: DemoName;
  readonly authorization?: string;
}

function headersOf(caller: Caller, extra: Record<string, string> = {}): { as?: DemoName; headers: Record<string, string> } {
  return { ...(caller.as !== undefined ? { as: caller.as } : {}), headers: { ...(caller.authorization !== undefined ? { authorization: caller.authorization } : {}), ...extra } };
}

function pathOf(url: string): string {
  return new URL(url).pathname;
}

async function kickOff(app: TestApp, url: string, caller: Caller = {}, body?: Json): Promise<LightMyRequestResponse> {
  return app.request({ method: body === undefined ? 'GET' : 'POST', url, ...(body !== undefined ? { body } : {}), ...headersOf(caller, ASYNC) });
}

/** Kicks off, runs the jobs and answers the manifest. */
async function exportOf(t: Test, app: TestApp, url: string, caller: Caller = {}, body?: Json): Promise<{ status: string; manifest: Json }> {
  const response = await kickOff(app, url, caller, body);
  t.equal(response.statusCode, 202, `kick-off ${url}: ${response.body}`);
  const status = pathOf(String(response.headers['content-location']));
  await app.app.bulkExport.runOnce();
  const done = await app.request({ method: 'GET', url: status, ...headersOf(caller) });
  t.equal(done.statusCode, 200, `complete: ${done.body}`);
  return { status, manifest: done.json() };
}

async function file(app: TestApp, url: string, caller: Caller = {}): Promise<LightMyRequestResponse> {
  return app.request({ method: 'GET', url: pathOf(url), ...headersOf(caller) });
}

async function lines(t: Test, app: TestApp, manifest: Json, type: string, caller: Caller = {}): Promise<Json[]> {
  const entry = manifest.output.find((o: Json) => o.type === type);
  if (entry === undefined) {
    return [];
  }
  const response = await file(app, entry.url, caller);
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /^application\/fhir\+ndjson/);
  const parsed = response.body.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
  t.equal(parsed.length, entry.count, `${type}: the manifest counts the lines`);
  return parsed;
}

const keys = (resources: Json[]): string[] => resources.map((r) => `${r.resourceType}/${r.id}/${r.meta.versionId}`).sort();

t.test(`bulk export on ${engine}`, async (t) => {
  const app = await createTestApp(t, { EXPORT_POLL_MS: '0', EXPORT_PAGE_SIZE: '2', EXPORT_PSEUDONYM_KEY: KEY, EXPORT_RETENTION_HOURS: '2' });
  await careScenario(app);
  // Direct identifiers for the pseudonymisation check.
  await put(app, {
    resourceType: 'Patient',
    id: 'p-kok',
    identifier: [{ system: BSN, value: '999911120' }],
    name: [{ family: 'Kok', given: ['Anna'] }],
    birthDate: '1950-03-02',
    telecom: [{ system: 'phone', value: '0612345678' }],
    address: [{ line: ['Dorpsstraat 12'], city: 'Zwolle' }],
    managingOrganization: { reference: 'Organization/t-gp' },
  });
  await put(app, {
    resourceType: 'Patient',
    id: 'p-vis',
    identifier: [{ system: BSN, value: '999900018' }],
    name: [{ family: 'Visser', given: ['Bram'] }],
    birthDate: '1962-11-23',
    managingOrganization: { reference: 'Organization/t-gp' },
  });
  await put(app, observation('obs-kok-3', 'p-kok', { subject: { reference: 'Patient/p-kok', display: 'Anna Kok' } }));

  t.test('the CapabilityStatement lists the three operations, the OpenAPI document the status and file URLs', async (t) => {
    const statement = (await app.request({ method: 'GET', url: '/fhir/metadata' })).json();
    const rest = statement.rest[0];
    const definition = (ops: Json[] | undefined) => (ops ?? []).find((o: Json) => o.name === 'export')?.definition;
    t.equal(definition(rest.operation), 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export');
    t.equal(definition(rest.resource.find((r: Json) => r.type === 'Patient').operation), 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export');
    t.equal(definition(rest.resource.find((r: Json) => r.type === 'Group').operation), 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export');
    const openapi = (await app.request({ method: 'GET', url: '/fhir/openapi.json' })).json();
    t.ok(openapi.paths['/$export'], 'kick-off');
    t.ok(openapi.paths['/Patient/$export'] && openapi.paths['/Group/{id}/$export'], 'Patient and Group kick-off');
    t.ok(openapi.paths['/_export/{job}']?.get && openapi.paths['/_export/{job}']?.delete, 'status and cancel');
    t.ok(openapi.paths['/_export/{job}/{kind}/{file}']?.get, 'files');
  });

  t.test('bad kick-offs answer 400 (or 403, 404) OperationOutcomes and record no job', async (t) => {
    const bad: Array<[string, number, Record<string, string>?]> = [
      ['/fhir/$export?_outputFormat=application/json', 400],
      ['/fhir/$export?_outputFormat=ndjson&_outputFormat=ndjson', 400],
      ['/fhir/$export?_type=Nonsense', 400],
      ['/fhir/$export?_since=yesterday', 400],
      ['/fhir/$export?_since=2026-01-01', 400],
      ['/fhir/$export?_typeFilter=Observation', 400],
      ['/fhir/$export?_typeFilter=Observation?nonsense=1', 400],
      ['/fhir/$export?_type=Patient&_typeFilter=Observation?code=1', 400],
      ['/fhir/$export?_elements=id', 400],
      ['/fhir/$export?schakel-pseudonymize=maybe', 400],
      ['/fhir/Group/no-such-group/$export', 404],
    ];
    for (const [url, status] of bad) {
      const response = await kickOff(app, url);
      t.equal(response.statusCode, status, url);
      t.equal(response.json().resourceType, 'OperationOutcome', url);
    }
    const noPrefer = await app.request({ method: 'GET', url: '/fhir/$export' });
    t.equal(noPrefer.statusCode, 400, 'Prefer: respond-async is required');
    t.equal(noPrefer.json().issue[0].code, 'invalid');
    const badBody = await kickOff(app, '/fhir/$export', {}, { resourceType: 'Parameters', parameter: [{ name: '_outputFormat', valueString: 'text/csv' }] });
    t.equal(badBody.statusCode, 400, 'POST Parameters are checked too');
    const writer = await tokenFor(app.app, principalFor('admin', { scope: 'system/Observation.cu' }));
    const noSearch = await kickOff(app, '/fhir/$export', { authorization: `Bearer ${writer}` });
    t.equal(noSearch.statusCode, 403, 'a token without a search scope may not export');
    t.equal(noSearch.json().issue[0].code, 'forbidden');
    const rows = await app.database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM export_job');
    t.equal(rows[0]?.n, 0, 'no job was recorded');
  });

  t.test('system export: polling, manifest, files equal to a search of the same scope', async (t) => {
    const response = await kickOff(app, '/fhir/$export');
    t.equal(response.statusCode, 202);
    const status = pathOf(String(response.headers['content-location']));
    t.match(status, /^\/fhir\/_export\/[0-9a-f-]{36}$/);
    const pending = await app.request({ method: 'GET', url: status });
    t.equal(pending.statusCode, 202, 'in progress before the runner ran');
    t.ok(pending.headers['x-progress']);
    t.equal(pending.headers['retry-after'], '2');
    t.same(await app.app.bulkExport.runOnce(), { completed: 1, failed: 0, expired: 0 });
    const done = await app.request({ method: 'GET', url: status });
    t.equal(done.statusCode, 200);
    t.match(done.headers['content-type'], /^application\/json/);
    const manifest = done.json();
    t.equal(manifest.requiresAccessToken, true);
    t.equal(manifest.request, 'http://localhost:80/fhir/$export');
    t.ok(!Number.isNaN(Date.parse(manifest.transactionTime)));
    t.same(manifest.error, []);
    for (const type of ['Observation', 'Patient', 'CareTeam', 'Organization']) {
      const exported = await lines(t, app, manifest, type);
      const searched = (await app.request({ method: 'GET', url: `/fhir/${type}?_count=100` })).json();
      t.same(keys(exported), keys((searched.entry ?? []).map((e: Json) => e.resource)), `${type}: same ids and versions as the search`);
    }
    const patients = await lines(t, app, manifest, 'Patient');
    t.ok(patients.some((p) => p.identifier?.[0]?.value === '999911120'), 'without pseudonymisation the BSN is exported');
  });

  t.test('_type, _since and _typeFilter', async (t) => {
    const onlyObs = await exportOf(t, app, '/fhir/$export?_type=Observation');
    t.same(onlyObs.manifest.output.map((o: Json) => o.type), ['Observation']);
    const filtered = await exportOf(t, app, '/fhir/$export?_type=Observation&_typeFilter=' + encodeURIComponent('Observation?code=8480-6'));
    t.same((await lines(t, app, filtered.manifest, 'Observation')).map((o) => o.id), ['obs-kok']);
    const either = await exportOf(
      t,
      app,
      '/fhir/$export?_type=Observation&_typeFilter=' + encodeURIComponent('Observation?code=8480-6') + '&_typeFilter=' + encodeURIComponent('Observation?_id=obs-vis')
    );
    t.same((await lines(t, app, either.manifest, 'Observation')).map((o) => o.id).sort(), ['obs-kok', 'obs-vis'], 'several filters of a type: any of them');
    const since = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await put(app, observation('obs-vis', 'p-vis', { status: 'amended' }));
    const changed = await exportOf(t, app, '/fhir/$export', {}, {
      resourceType: 'Parameters',
      parameter: [
        { name: '_since', valueInstant: since },
        { name: '_type', valueString: 'Observation,Patient' },
      ],
    });
    t.same(changed.manifest.output.map((o: Json) => o.type), ['Observation'], 'only what changed since');
    t.same((await lines(t, app, changed.manifest, 'Observation')).map((o) => `${o.id}/${o.meta.versionId}`), ['obs-vis/2']);
    t.equal(changed.manifest.request, 'http://localhost:80/fhir/$export');
  });

  t.test('need to know: a user sees their patients, a narrow scope gets less and an error line', async (t) => {
    const physio = await exportOf(t, app, '/fhir/$export?_type=Observation,Patient', { as: 'physio' });
    t.same((await lines(t, app, physio.manifest, 'Observation', { as: 'physio' })).map((o) => o.id), ['obs-vis']);
    t.same((await lines(t, app, physio.manifest, 'Patient', { as: 'physio' })).map((o) => o.id), ['p-vis']);
    const physioSearch = (await app.request({ method: 'GET', url: '/fhir/Observation', as: 'physio' })).json();
    t.same((physioSearch.entry ?? []).map((e: Json) => e.resource.id), ['obs-vis'], 'the same as the physio searches');

    const narrow = `Bearer ${await tokenFor(app.app, principalFor('admin', { scope: 'system/Observation.rs' }))}`;
    const only = await exportOf(t, app, '/fhir/$export?_type=Observation,Patient', { authorization: narrow });
    t.same(only.manifest.output.map((o: Json) => o.type), ['Observation']);
    t.equal(only.manifest.error.length, 1);
    const errors = await file(app, only.manifest.error[0].url, { authorization: narrow });
    const outcome = JSON.parse(errors.body.trim());
    t.equal(outcome.resourceType, 'OperationOutcome');
    t.equal(outcome.issue[0].code, 'forbidden');
    t.same(outcome.issue[0].expression, ['Patient']);
    const all = await exportOf(t, app, '/fhir/$export', { authorization: narrow });
    t.same(all.manifest.output.map((o: Json) => o.type), ['Observation'], 'without _type: only the types it may search');
  });

  t.test('Patient and Group level export only patient compartments', async (t) => {
    const patients = await exportOf(t, app, '/fhir/Patient/$export?_type=Organization,Observation,Patient');
    t.same(patients.manifest.output.map((o: Json) => o.type).sort(), ['Observation', 'Patient'], 'organisations are no patient data');
    t.equal(patients.manifest.request, 'http://localhost:80/fhir/Patient/$export?_type=Organization%2CObservation%2CPatient');
    await put(app, { resourceType: 'Group', id: 'g-kok', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/p-kok' } }] });
    const group = await exportOf(t, app, '/fhir/Group/g-kok/$export?_type=Observation,Patient');
    t.same((await lines(t, app, group.manifest, 'Observation')).map((o) => o.id).sort(), ['obs-kok', 'obs-kok-2', 'obs-kok-3']);
    t.same((await lines(t, app, group.manifest, 'Patient')).map((o) => o.id), ['p-kok']);
    const hidden = await kickOff(app, '/fhir/Group/g-kok/$export', { as: 'rehab' });
    t.equal(hidden.statusCode, 404, 'a Group the caller may not read answers 404');
  });

  t.test('pseudonymised export has no identifiers yet links', async (t) => {
    const url = '/fhir/$export?_type=Patient,Observation,CareTeam&schakel-pseudonymize=true';
    const first = await exportOf(t, app, url);
    const texts: string[] = [];
    for (const entry of first.manifest.output) {
      texts.push((await file(app, entry.url)).body);
    }
    const all = texts.join('\n');
    for (const secret of ['999911120', '999900018', 'Kok', 'Visser', 'Anna', 'Bram', '1950-03-02', '1962-11-23', 'Dorpsstraat', '0612345678', 'p-kok', 'p-vis', BSN]) {
      t.notOk(all.includes(secret), `no ${secret} in the files`);
    }
    const patients = await lines(t, app, first.manifest, 'Patient');
    const pseudonym = (id: string) => createHmac('sha256', KEY).update(`Patient/${id}`).digest('hex');
    t.same(patients.map((p) => p.id).sort(), [pseudonym('p-kok'), pseudonym('p-vis')].sort(), 'Patient ids are the keyed hash');
    t.same(patients.map((p) => p.birthDate).sort(), ['1950', '1962'], 'birth dates cut to the year');
    const observations = await lines(t, app, first.manifest, 'Observation');
    const subjects = new Set(observations.map((o) => o.subject.reference));
    t.same([...subjects].sort(), [`Patient/${pseudonym('p-kok')}`, `Patient/${pseudonym('p-vis')}`].sort(), 'references link to the pseudonymised Patients');
    const second = await exportOf(t, app, url);
    t.same((await lines(t, app, second.manifest, 'Patient')).map((p) => p.id).sort(), patients.map((p) => p.id).sort(), 'the same pseudonyms in every export');
  });

  t.test('another client is refused the status and the files', async (t) => {
    const { status, manifest } = await exportOf(t, app, '/fhir/$export?_type=Patient');
    for (const who of ['gp', 'auditor', 'network'] as const) {
      t.equal((await app.request({ method: 'GET', url: status, as: who })).statusCode, 404, `${who}: status`);
      const refused = await file(app, manifest.output[0].url, { as: who });
      t.equal(refused.statusCode, 404, `${who}: file`);
      t.equal(refused.json().resourceType, 'OperationOutcome');
      t.equal((await app.request({ method: 'DELETE', url: status, as: who })).statusCode, 404, `${who}: cancel`);
    }
    t.equal((await file(app, manifest.output[0].url)).statusCode, 200, 'the requester still has it');
    const audited = await app.database.db.query<{ operation: string; resource_type: string }>(
      'SELECT operation, resource_type FROM audit_log WHERE query = $1',
      [`job=${status.split('/').pop()}&file=output/Patient.ndjson`]
    );
    t.same(audited.map((r) => [r.operation, r.resource_type]), [['export', 'Patient']], 'each download of the file is in the audit trail, refusals are not downloads');
    t.equal((await app.request({ method: 'GET', url: status, headers: { authorization: '' } })).statusCode, 401, 'no token, no status');
    t.equal((await file(app, manifest.output[0].url.replace('Patient.ndjson', 'Observation.ndjson'))).statusCode, 404, 'a file the manifest does not list');
  });

  t.test('cancel: DELETE answers 202, then the status URL is 404', async (t) => {
    const response = await kickOff(app, '/fhir/$export');
    const status = pathOf(String(response.headers['content-location']));
    t.equal((await app.request({ method: 'DELETE', url: status })).statusCode, 202);
    t.equal((await app.request({ method: 'GET', url: status })).statusCode, 404);
    t.equal((await app.request({ method: 'DELETE', url: status })).statusCode, 404);
    t.same(await app.app.bulkExport.runOnce(), { completed: 0, failed: 0, expired: 0 }, 'nothing left to run');
    const done = await exportOf(t, app, '/fhir/$export?_type=Patient');
    t.equal((await app.request({ method: 'DELETE', url: done.status })).statusCode, 202, 'a complete export can be deleted too');
    t.equal((await file(app, done.manifest.output[0].url)).statusCode, 404, 'with its files');
  });

  t.test('expired exports answer 404 and the cleanup deletes them', async (t) => {
    const { status, manifest } = await exportOf(t, app, '/fhir/$export?_type=Patient');
    const id = status.split('/').pop();
    const [expires] = await app.database.db.query<{ hours: number }>(
      "SELECT round(extract(epoch FROM expires_at - completed_at) / 3600)::int AS hours FROM export_job WHERE id = $1",
      [id]
    );
    t.equal(expires?.hours, 2, 'kept EXPORT_RETENTION_HOURS after completion');
    // Time passes: the retention ends.
    await app.database.db.query("UPDATE export_job SET expires_at = now() - interval '1 second' WHERE id = $1", [id]);
    t.equal((await app.request({ method: 'GET', url: status })).statusCode, 404);
    t.equal((await file(app, manifest.output[0].url)).statusCode, 404);
    const pass = await app.app.bulkExport.runOnce();
    t.equal(pass.expired, 1);
    const left = await app.database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM export_file_part WHERE job_id = $1', [id]);
    t.equal(left[0]?.n, 0, 'its files are deleted');
  });

  t.test('two nodes share the jobs: each job runs once, no file line twice', async (t) => {
    const statuses: string[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(pathOf(String((await kickOff(app, '/fhir/$export?_type=Observation,Patient,CareTeam')).headers['content-location'])));
    }
    const node = () => new ExportRunner(app.database.db, app.app.fhirContext.search, { ...app.config.bulkExport, pollMs: 0 });
    const passes = await Promise.all([node().runOnce(), node().runOnce()]);
    t.equal(passes[0].completed + passes[1].completed, 3, 'every job completed by one of them');
    for (const status of statuses) {
      const manifest = (await app.request({ method: 'GET', url: status })).json();
      const exported = await lines(t, app, manifest, 'Observation');
      t.equal(new Set(keys(exported)).size, exported.length, 'no resource twice');
      t.equal(exported.length, (await app.request({ method: 'GET', url: '/fhir/Observation?_summary=count' })).json().total);
    }
  });

  t.test('a job interrupted by a fault resumes after its last committed page', async (t) => {
    const response = await kickOff(app, '/fhir/$export?_type=Observation,Patient,CareTeam');
    const status = pathOf(String(response.headers['content-location']));
    const db = app.database.db;
    let transactions = 0;
    // The database fails the fourth transaction: the start and two pages are committed.
    const faulty: Database = {
      engine: db.engine,
      query: (sql, params) => db.query(sql, params),
      exec: (sql) => db.exec(sql),
      transaction: async (fn) => {
        transactions++;
        if (transactions === 4) {
          throw new Error('connection lost');
        }
        return db.transaction(fn);
      },
      close: async () => undefined,
    };
    const crashing = new ExportRunner(faulty, app.app.fhirContext.search, { ...app.config.bulkExport, pollMs: 0 });
    t.same(await crashing.runOnce(), { completed: 0, failed: 0, expired: 0 });
    const [job] = await db.query<{ at_type: string; exported: number }>('SELECT at_type, exported::int AS exported FROM export_job WHERE id = $1', [status.split('/').pop()]);
    t.equal(job?.exported, 4, 'two pages of two were committed');
    t.equal((await app.request({ method: 'GET', url: status })).statusCode, 202, 'still in progress');
    t.same(await app.app.bulkExport.runOnce(), { completed: 1, failed: 0, expired: 0 }, 'another runner takes it up');
    const manifest = (await app.request({ method: 'GET', url: status })).json();
    for (const type of ['Observation', 'Patient', 'CareTeam']) {
      const exported = await lines(t, app, manifest, type);
      const searched = (await app.request({ method: 'GET', url: `/fhir/${type}?_count=100` })).json();
      t.same(keys(exported), keys(searched.entry.map((e: Json) => e.resource)), `${type}: complete, nothing twice`);
    }
  });
});
