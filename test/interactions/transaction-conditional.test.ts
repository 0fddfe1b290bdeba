/**
 * Conditional interactions and conditional references inside transactions. They match through
 * the search port (SearchService.findIds), so they need the search engine.
 */
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { nonEmptyTables } from '../helpers/tables.js';
import { BSN_SYSTEM, PATIENT_URN, referralBundle, referralPatient } from '../helpers/referral.js';

const tx = (entry: unknown[]) => ({ resourceType: 'Bundle', type: 'transaction', entry });
const observation = (subject: string) => ({ resourceType: 'Observation', status: 'final', code: { text: 'Bloeddruk' }, subject: { reference: subject } });

function conditionalCreate(bsn: string) {
  return tx([
    {
      fullUrl: PATIENT_URN,
      resource: referralPatient(bsn),
      request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${BSN_SYSTEM}|${bsn}` },
    },
    { resource: observation(PATIENT_URN), request: { method: 'POST', url: 'Observation' } },
  ]);
}

t.test(`conditional create inside a transaction, run twice, leaves one resource on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const first = await request({ method: 'POST', url: '/fhir', body: conditionalCreate('999911193') });
  t.equal(first.statusCode, 200);
  t.same(first.json().entry.map((e: { response: { status: string } }) => e.response.status), ['201 Created', '201 Created']);
  const patientId = first.json().entry[0].resource.id;
  const second = await request({ method: 'POST', url: '/fhir', body: conditionalCreate('999911193') });
  t.equal(second.statusCode, 200);
  t.same(second.json().entry.map((e: { response: { status: string } }) => e.response.status), ['200 OK', '201 Created']);
  t.equal(second.json().entry[0].resource.id, patientId, 'the existing patient');
  t.equal(second.json().entry[1].resource.subject.reference, `Patient/${patientId}`, 'links go to the match');
  const found = (await request({ method: 'GET', url: `/fhir/Patient?identifier=${BSN_SYSTEM}|999911193` })).json();
  t.equal(found.total ?? found.entry?.length, 1);
});

t.test(`concurrent transactions with the same conditional create leave one patient on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const results = await Promise.all(Array.from({ length: 10 }, () => request({ method: 'POST', url: '/fhir', body: conditionalCreate('999911211') })));
  t.same(results.map((r) => r.statusCode), Array(10).fill(200));
  const ids = new Set(results.map((r) => r.json().entry[0].resource.id as string));
  t.equal(ids.size, 1, 'every transaction saw the same patient');
  t.equal(results.filter((r) => r.json().entry[0].response.status === '201 Created').length, 1, 'exactly one created it');
  const found = (await request({ method: 'GET', url: `/fhir/Patient?identifier=${BSN_SYSTEM}|999911211` })).json();
  t.equal(found.total ?? found.entry?.length, 1);
  const observations = (await request({ method: 'GET', url: `/fhir/Observation?subject=Patient/${[...ids][0]}&_count=50` })).json();
  t.equal(observations.total ?? observations.entry?.length, 10);
});

t.test(`conditional references on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  await request({ method: 'PUT', url: '/fhir/Patient/one', body: { ...referralPatient('999911223'), id: 'one' } });
  await request({ method: 'PUT', url: '/fhir/Patient/twin-a', body: { ...referralPatient('999911235'), id: 'twin-a' } });
  // An inactive record holds no BSN (one active Patient per BSN) but still matches the search.
  await request({ method: 'PUT', url: '/fhir/Patient/twin-b', body: { ...referralPatient('999911235'), id: 'twin-b', active: false } });
  const before = await nonEmptyTables(app);

  const one = await request({ method: 'POST', url: '/fhir', body: tx([{ resource: observation(`Patient?identifier=${BSN_SYSTEM}|999911223`), request: { method: 'POST', url: 'Observation' } }]) });
  t.equal(one.statusCode, 200);
  t.equal(one.json().entry[0].resource.subject.reference, 'Patient/one', 'replaced by the single match');

  const many = await request({ method: 'POST', url: '/fhir', body: tx([{ resource: observation(`Patient?identifier=${BSN_SYSTEM}|999911235`), request: { method: 'POST', url: 'Observation' } }]) });
  t.equal(many.statusCode, 412);
  t.equal(many.json().issue[0].code, 'multiple-matches');
  t.same(many.json().issue[0].expression, ['Bundle.entry[0].resource.subject']);

  const none = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([
      { resource: referralPatient('999911247'), request: { method: 'POST', url: 'Patient' } },
      { resource: observation(`Patient?identifier=${BSN_SYSTEM}|999911259`), request: { method: 'POST', url: 'Observation' } },
    ]),
  });
  t.equal(none.statusCode, 400);
  t.equal(none.json().issue[0].code, 'not-found');
  t.same(none.json().issue[0].expression, ['Bundle.entry[1].resource.subject']);

  const inBundle = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([
      { resource: observation(`Patient?identifier=${BSN_SYSTEM}|999911260`), request: { method: 'POST', url: 'Observation' } },
      { resource: referralPatient('999911260'), request: { method: 'POST', url: 'Patient', ifNoneExist: `Patient?identifier=${BSN_SYSTEM}|999911260` } },
    ]),
  });
  t.equal(inBundle.statusCode, 200, 'a conditional reference to a conditional create of the same Bundle');
  t.equal(inBundle.json().entry[0].resource.subject.reference, `Patient/${inBundle.json().entry[1].resource.id}`);
  t.ok(before);
});

t.test(`conditional update and duplicates inside a transaction on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  // `active` differs between the two updates: an update that changes nothing makes no version.
  const update = (bsn: string, active = true) =>
    tx([
      { fullUrl: PATIENT_URN, resource: { ...referralPatient(bsn), active }, request: { method: 'PUT', url: `Patient?identifier=${BSN_SYSTEM}|${bsn}` } },
      { resource: observation(PATIENT_URN), request: { method: 'POST', url: 'Observation' } },
    ]);
  const created = await request({ method: 'POST', url: '/fhir', body: update('999911272') });
  t.equal(created.statusCode, 200);
  t.equal(created.json().entry[0].response.status, '201 Created');
  const id = created.json().entry[0].resource.id;
  t.equal(created.json().entry[1].resource.subject.reference, `Patient/${id}`);
  const updated = await request({ method: 'POST', url: '/fhir', body: update('999911272', false) });
  t.equal(updated.json().entry[0].response.status, '200 OK');
  t.equal(updated.json().entry[0].resource.id, id);
  t.equal(updated.json().entry[0].response.etag, 'W/"2"');

  const before = await nonEmptyTables(app);
  const twice = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([
      { resource: referralPatient('999911284'), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${BSN_SYSTEM}|999911284` } },
      { resource: referralPatient('999911284'), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${BSN_SYSTEM}|999911284` } },
    ]),
  });
  t.equal(twice.statusCode, 400, 'two conditional creates of one resource');
  t.equal(twice.json().issue[0].code, 'business-rule');
  const resolvedOverlap = await request({
    method: 'POST',
    url: '/fhir',
    body: tx([
      { resource: { ...referralPatient('999911272'), id }, request: { method: 'PUT', url: `Patient/${id}` } },
      { request: { method: 'DELETE', url: `Patient?identifier=${BSN_SYSTEM}|999911272` } },
    ]),
  });
  t.equal(resolvedOverlap.statusCode, 400, 'a conditional delete resolving to a resource another entry updates');
  t.same(await nonEmptyTables(app), before);
});

t.test(`a failed transaction leaves nothing to find on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const res = await request({ method: 'POST', url: '/fhir', body: referralBundle({ bsn: '999911296', taskStatus: 'bogus' }) });
  t.equal(res.statusCode, 422);
  const found = (await request({ method: 'GET', url: `/fhir/Patient?identifier=${BSN_SYSTEM}|999911296` })).json();
  t.equal(found.total ?? found.entry?.length ?? 0, 0, 'no search hit');
  t.same(await nonEmptyTables(app), {}, 'no index row either');
});
