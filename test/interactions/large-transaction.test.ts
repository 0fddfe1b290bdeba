/**
 * Transactions of the size real patient-history Bundles have (Synthea writes 3,000-5,000 entries,
 * 10-30 MB, for one patient), under the default limits (config.ts: 10,000 entries, 50 MB), and
 * the 413 beyond those limits with nothing written.
 */
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { patientHistoryBundle } from '../helpers/patient-history.js';
import { rowCounts } from '../helpers/tables.js';

interface ResponseEntry {
  fullUrl?: string;
  resource?: { resourceType: string; id: string };
  response: { status: string; location?: string };
}

t.test(`large transactions on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const db = app.fhirContext.repo.queryable;

  await t.test('a 5,000-entry patient history (~30 MB) is stored whole, its links resolved', async (t) => {
    const history = patientHistoryBundle(5000);
    const bytes = Buffer.byteLength(history.text);
    t.ok(bytes > 28 * 1024 * 1024, `the Bundle is ${Math.round(bytes / 1024 / 1024)} MB`);
    const started = performance.now();
    const res = await request({ method: 'POST', url: '/fhir', body: history.text });
    t.comment(`5,000-entry transaction on ${engine}: ${Math.round(performance.now() - started)} ms`);
    t.equal(res.statusCode, 200, res.statusCode === 200 ? 'transaction-response' : res.body.slice(0, 400));
    const bundle = res.json<{ type: string; entry: ResponseEntry[] }>();
    t.equal(bundle.type, 'transaction-response');
    t.equal(bundle.entry.length, 5000, 'one response entry per request entry');
    t.ok(
      bundle.entry.every((e) => e.response.status === '201 Created' && e.resource?.id !== undefined),
      'every entry created'
    );
    const patient = bundle.entry[0]?.resource;
    const encounter = bundle.entry[1]?.resource;
    const observation = bundle.entry[2]?.resource;
    t.equal(patient?.resourceType, 'Patient');
    t.equal(encounter?.resourceType, 'Encounter');
    t.equal(observation?.resourceType, 'Observation');

    const ids = bundle.entry.map((e) => e.resource?.id ?? '');
    const stored = await db.query<{ resource_type: string; n: string | number }>(
      `SELECT resource_type, count(*) AS n FROM resource WHERE id = ANY($1::text[]) AND NOT deleted GROUP BY resource_type`,
      [ids]
    );
    t.same(Object.fromEntries(stored.map((r) => [r.resource_type, Number(r.n)])), history.counts, 'every resource stored, by type');
    const history1 = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM resource_history WHERE id = ANY($1::text[])`, [ids]);
    t.equal(Number(history1[0]?.n), 5000, 'one history row each');
    const placeholders = await db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM resource WHERE id = ANY($1::text[]) AND content LIKE '%urn:uuid:%'`,
      [ids]
    );
    t.equal(Number(placeholders[0]?.n), 0, 'no urn:uuid placeholder left in any stored resource');
    const toPatient = await db.query<{ n: string | number }>(
      `SELECT count(DISTINCT source_id) AS n FROM resource_reference
        WHERE target_type = 'Patient' AND target_id = $1 AND source_id = ANY($2::text[])`,
      [patient?.id, ids]
    );
    t.equal(Number(toPatient[0]?.n), 4999, 'every other entry refers to the Patient');

    const read = await request({ method: 'GET', url: `/fhir/Observation/${observation?.id}` });
    t.equal(read.statusCode, 200);
    const body = read.json<{ subject: { reference: string }; encounter: { reference: string } }>();
    t.equal(body.subject.reference, `Patient/${patient?.id}`, 'subject resolved to the new Patient');
    t.equal(body.encounter.reference, `Encounter/${encounter?.id}`, 'encounter resolved to the entry before it');
    const search = await request({ method: 'GET', url: `/fhir/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|${history.bsn}` });
    t.equal(search.json<{ entry?: unknown[] }>().entry?.length, 1, 'the Patient is found by its BSN');
  });

  await t.test('more entries than MAX_BUNDLE_ENTRIES: 413 with an OperationOutcome, nothing written', async (t) => {
    const before = await rowCounts(app);
    const entry = Array.from({ length: app.fhirContext.config.maxBundleEntries + 1 }, () => ({
      resource: { resourceType: 'Basic', code: { text: 'te veel' } },
      request: { method: 'POST', url: 'Basic' },
    }));
    const res = await request({ method: 'POST', url: '/fhir', body: { resourceType: 'Bundle', type: 'transaction', entry } });
    t.equal(res.statusCode, 413);
    const outcome = res.json<{ resourceType: string; issue: Array<{ code: string; expression?: string[] }> }>();
    t.equal(outcome.resourceType, 'OperationOutcome');
    t.equal(outcome.issue[0]?.code, 'too-costly');
    t.same(outcome.issue[0]?.expression, ['Bundle.entry']);
    t.same(await rowCounts(app), before, 'no resource, history, reference or index row');
  });

  await t.test('a body over BODY_LIMIT: 413 with an OperationOutcome, nothing written', async (t) => {
    const before = await rowCounts(app);
    const filler = 'x'.repeat(app.fhirContext.config.bodyLimit);
    const body = JSON.stringify({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Basic', code: { text: filler } }, request: { method: 'POST', url: 'Basic' } }],
    });
    const res = await request({ method: 'POST', url: '/fhir', body });
    t.equal(res.statusCode, 413);
    const outcome = res.json<{ resourceType: string; issue: Array<{ code: string }> }>();
    t.equal(outcome.resourceType, 'OperationOutcome');
    t.equal(outcome.issue[0]?.code, 'too-costly');
    t.same(await rowCounts(app), before, 'nothing written');
  });
});
