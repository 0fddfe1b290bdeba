import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { nonEmptyTables, rowCounts } from '../helpers/tables.js';
import { PATIENT_URN, referralBundle, referralPatient } from '../helpers/referral.js';

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

t.test(`a referral transaction lands with resolved references on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const res = await request({ method: 'POST', url: '/fhir', body: referralBundle() });
  t.equal(res.statusCode, 200);
  const bundle = res.json();
  t.equal(bundle.type, 'transaction-response');
  t.equal(bundle.entry.length, 3, 'one response entry per request entry, in order');
  for (const entry of bundle.entry) {
    t.equal(entry.response.status, '201 Created');
    t.equal(entry.response.etag, 'W/"1"');
    t.match(entry.response.lastModified, INSTANT);
    t.match(entry.response.location, /^http:\/\/localhost(:\d+)?\/fhir\/(Task|ServiceRequest|Patient)\/[^/]+\/_history\/1$/);
    t.ok(entry.resource, 'representation by default');
    t.equal(entry.fullUrl, entry.response.location.replace(/\/_history\/1$/, ''));
  }
  const [task, referral, patient] = bundle.entry.map((e: { resource: { id: string } }) => e.resource);
  t.equal(task.resourceType, 'Task');
  t.equal(referral.resourceType, 'ServiceRequest');
  t.equal(patient.resourceType, 'Patient');

  const storedTask = (await request({ method: 'GET', url: `/fhir/Task/${task.id}` })).json();
  t.equal(storedTask.focus.reference, `ServiceRequest/${referral.id}`, 'forward reference resolved');
  t.equal(storedTask.for.reference, `Patient/${patient.id}`);

  const stored = (await request({ method: 'GET', url: `/fhir/ServiceRequest/${referral.id}` })).json();
  t.equal(stored.subject.reference, `Patient/${patient.id}`);
  t.equal(stored.contained[0].subject.reference, `Patient/${patient.id}`, 'inside contained resources');
  t.equal(stored.reasonReference[0].reference, '#reden', 'contained references untouched');
  t.equal(stored.extension[0].valueReference.reference, `Patient/${patient.id}`, 'inside extensions');
  t.equal(stored.extension[1].valueUri, `Patient/${patient.id}`, 'uri elements');
  t.match(stored.text.div, `href="Patient/${patient.id}"`, 'narrative links');
  t.notMatch(JSON.stringify(stored), 'urn:uuid', 'no placeholder left');

  const storedPatient = (await request({ method: 'GET', url: `/fhir/Patient/${patient.id}` })).json();
  t.equal(storedPatient.identifier[1].value, PATIENT_URN, 'string elements are not links');
});

t.test(`one invalid entry leaves no trace on ${engine}`, async (t) => {
  const { app, request, startedAt } = await createTestApp(t);
  const before = await rowCounts(app);
  const res = await request({ method: 'POST', url: '/fhir', body: referralBundle({ taskStatus: 'bogus' }) });
  t.equal(res.statusCode, 422);
  const outcome = res.json();
  t.equal(outcome.resourceType, 'OperationOutcome');
  t.equal(outcome.id, undefined);
  t.ok(outcome.issue.length > 0);
  t.ok(
    outcome.issue.some((i: { expression?: string[] }) => i.expression?.includes('Bundle.entry[0].resource.status')),
    'the issue points into the Bundle'
  );
  t.same(await rowCounts(app), before, 'no resource, history, reference or index row');
  t.same(await nonEmptyTables(app), {});
  t.equal((await request({ method: 'GET', url: `/fhir/_history?_since=${encodeURIComponent(startedAt)}` })).json().total ?? 0, 0);
});

t.test(`a missing subject fails the transaction with an expression in the Bundle on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const bundle = referralBundle();
  bundle.entry[1]!.resource = { ...bundle.entry[1]!.resource, subject: undefined } as never;
  const res = await request({ method: 'POST', url: '/fhir', body: bundle });
  t.equal(res.statusCode, 422);
  t.ok(res.json().issue.some((i: { expression?: string[] }) => i.expression?.some((e) => e.startsWith('Bundle.entry[1].resource'))));
  t.same(await nonEmptyTables(app), {});
});

t.test(`referential integrity is checked at the end of the transaction on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const missing = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: PATIENT_URN, resource: referralPatient(), request: { method: 'POST', url: 'Patient' } },
      {
        resource: { resourceType: 'Observation', status: 'final', code: { text: 'Bloeddruk' }, subject: { reference: 'Patient/not-there' } },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  };
  const res = await request({ method: 'POST', url: '/fhir', body: missing });
  t.equal(res.statusCode, 422);
  t.equal(res.json().issue[0].code, 'not-found');
  t.same(res.json().issue[0].expression, ['Bundle.entry[1].resource.subject']);
  t.same(await nonEmptyTables(app), {});

  // Circular references: each patient links the other.
  const a = 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001';
  const b = 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000002';
  const circular = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: a, resource: { resourceType: 'Patient', link: [{ other: { reference: b }, type: 'seealso' }] }, request: { method: 'POST', url: 'Patient' } },
      { fullUrl: b, resource: { resourceType: 'Patient', link: [{ other: { reference: a }, type: 'seealso' }] }, request: { method: 'POST', url: 'Patient' } },
    ],
  };
  const ok = await request({ method: 'POST', url: '/fhir', body: circular });
  t.equal(ok.statusCode, 200);
  const [pa, pb] = ok.json().entry.map((e: { resource: { id: string } }) => e.resource);
  t.equal(pa.link[0].other.reference, `Patient/${pb.id}`);
  t.equal(pb.link[0].other.reference, `Patient/${pa.id}`);
});

t.test(`fullUrl styles: urn:oid, and Type/id on this or another base on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const res = await request({
    method: 'POST',
    url: '/fhir',
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:oid:2.16.840.1.113883.2.4.3.11.999.1', resource: referralPatient('999911302'), request: { method: 'POST', url: 'Patient' } },
        {
          // Relative references inside an entry resolve against its fullUrl's base (bundle.html#references).
          fullUrl: 'https://ehr.example.org/fhir/Observation/local-1',
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'Pijn' }, subject: { reference: 'Patient/local-7' }, focus: [{ reference: 'urn:oid:2.16.840.1.113883.2.4.3.11.999.1' }] },
          request: { method: 'POST', url: 'Observation' },
        },
        { fullUrl: 'https://ehr.example.org/fhir/Patient/local-7', resource: referralPatient('999911314'), request: { method: 'POST', url: 'Patient' } },
        { fullUrl: 'http://localhost:80/fhir/Patient/fixed', resource: { ...referralPatient('999911326'), id: 'fixed', link: [{ type: 'seealso', other: { reference: 'https://ehr.example.org/fhir/Patient/local-7' } }] }, request: { method: 'PUT', url: 'Patient/fixed' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'Pijn' }, subject: { reference: 'http://localhost:80/fhir/Patient/fixed' } }, request: { method: 'POST', url: 'Observation' } },
      ],
    },
  });
  t.equal(res.statusCode, 200);
  const [oidPatient, observation, localPatient, fixed, second] = res.json().entry.map((e: { resource: unknown }) => e.resource);
  t.equal(observation.focus[0].reference, `Patient/${oidPatient.id}`, 'urn:oid fullUrl');
  t.equal(observation.subject.reference, `Patient/${localPatient.id}`, 'relative reference against the entry fullUrl base');
  t.not(localPatient.id, 'local-7', 'a POST gets a server id whatever its fullUrl says');
  t.equal(fixed.link[0].other.reference, `Patient/${localPatient.id}`, 'absolute reference to another entry');
  t.equal(second.subject.reference, 'Patient/fixed', 'a link to an entry becomes the relative Type/id');
});

t.test(`HTTP limits and the CapabilityStatement on ${engine}`, async (t) => {
  const { request } = await createTestApp(t, { BODY_LIMIT: '2048' });
  const bundle = referralBundle();
  bundle.entry[0]!.resource = { ...bundle.entry[0]!.resource, description: 'x'.repeat(4096) } as never;
  const big = await request({ method: 'POST', url: '/fhir', body: bundle });
  t.equal(big.statusCode, 413, 'a Bundle over the body limit');
  t.equal(big.json().issue[0].code, 'too-costly');
  const metadata = (await request({ method: 'GET', url: '/fhir/metadata' })).json();
  const codes = metadata.rest[0].interaction.map((i: { code: string }) => i.code);
  t.ok(codes.includes('transaction') && codes.includes('batch'), 'transaction and batch are advertised');
});

t.test(`new resources written in bulk get the same index rows as single writes on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  await request({ method: 'PUT', url: '/fhir/Patient/p1', body: { ...referralPatient(), id: 'p1' } });
  const observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }], text: 'Bloeddruk' },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2026-03-01T10:00:00Z',
    component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }],
  };
  const single = (await request({ method: 'POST', url: '/fhir/Observation', body: observation })).json().id;
  const bulk = (
    await request({
      method: 'POST',
      url: '/fhir',
      body: { resourceType: 'Bundle', type: 'transaction', entry: [1, 2].map(() => ({ resource: observation, request: { method: 'POST', url: 'Observation' } })) },
    })
  ).json().entry[1].resource.id;
  const db = app.fhirContext.repo.queryable;
  const tables = (await db.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'search\\_%'`)).map((r) => r.table_name);
  t.ok(tables.length > 0, 'the search index tables exist');
  const rowsOf = async (id: string) => {
    const out: string[] = [];
    for (const table of tables.sort()) {
      const rows = await db.query<Record<string, unknown>>(
        `SELECT x.* FROM ${table} x JOIN resource r ON r.sid = x.sid WHERE r.resource_type = 'Observation' AND r.id = $1`,
        [id]
      );
      out.push(...rows.map(({ sid: _sid, ...rest }) => `${table} ${JSON.stringify(rest)}`).sort());
    }
    return out;
  };
  const expected = await rowsOf(single);
  t.ok(expected.length > 5);
  t.same(await rowsOf(bulk), expected);
  const found = (await request({ method: 'GET', url: '/fhir/Observation?subject=Patient/p1&code=http://loinc.org|85354-9&date=2026-03-01' })).json();
  t.equal(found.total ?? found.entry.length, 3, 'found through search');
});
