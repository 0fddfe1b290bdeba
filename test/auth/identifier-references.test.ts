// References by identifier (a Task or Observation that names its patient only by BSN, a performer
// by UZI, an owner by URA) belong to the record of the one resource with that identifier: every
// narrowing path treats them as it treats `Patient/id` (repository/identifier-references.ts).
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { careScenario, careTeam } from '../helpers/care-scenario.js';
import { BSN, put, type Json } from '../helpers/search.js';

type Who = 'gp' | 'physio' | 'nurse' | 'rehab' | 'admin' | 'auditor';

const BSN_IDK = '999900018';
const UZI = 'http://fhir.nl/fhir/NamingSystem/uzi-nr-pers';
const URA = 'http://fhir.nl/fhir/NamingSystem/ura';
const LOINC = 'http://loinc.org';

const byBsn = (value: string): Json => ({ identifier: { system: BSN, value } });

const ids = (body: Json, mode = 'match'): string[] =>
  (body.entry ?? []).filter((e: Json) => e.search?.mode === mode).map((e: Json) => `${e.resource.resourceType}/${e.resource.id}`).sort();

t.test(`a resource that names its patient by BSN is narrowed like one with Patient/id on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const get = (url: string, as: Who) => app.request({ method: 'GET', url: `/fhir/${url}`, as });
  // Patient IDK: a BSN, managed by the GP practice, care team: the GP only.
  await put(app, { resourceType: 'Patient', id: 'p-idk', identifier: [{ system: BSN, value: BSN_IDK }], name: [{ family: 'Idk' }], managingOrganization: { reference: 'Organization/t-gp' } });
  await put(app, careTeam('ct-idk', 'p-idk', ['gp']));
  const observation = {
    resourceType: 'Observation',
    id: 'obs-idk',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '29463-7' }] },
    subject: byBsn(BSN_IDK),
    performer: [{ identifier: { system: UZI, value: '999990001' } }],
    effectiveDateTime: '2026-11-10T10:00:00+01:00',
    valueQuantity: { value: 81, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  };
  const written = await app.request({ method: 'PUT', url: '/fhir/Observation/obs-idk', body: observation, as: 'gp' });
  t.equal(written.statusCode, 201, 'the GP writes it');

  t.test('the stored resource keeps the reference as sent', async (t) => {
    const stored = (await get('Observation/obs-idk', 'gp')).json();
    t.same(stored.subject, byBsn(BSN_IDK));
    t.same(stored.performer, observation.performer);
  });

  t.test('read, vread and history', async (t) => {
    for (const url of ['Observation/obs-idk', 'Observation/obs-idk/_history/1', 'Observation/obs-idk/_history']) {
      t.equal((await get(url, 'physio')).statusCode, 404, `${url}: 404 outside the care relation`);
      t.equal((await get(url, 'gp')).statusCode, 200, `${url}: 200 in it`);
    }
    const history = (await get('Observation/_history?_count=100', 'physio')).json();
    t.notOk((history.entry ?? []).some((e: Json) => e.resource?.id === 'obs-idk'), 'type history leaves it out');
    t.ok((await get('Observation/_history?_count=100', 'gp')).json().entry.some((e: Json) => e.resource?.id === 'obs-idk'), 'the GP sees it in history');
  });

  t.test('search, totals, _include, _revinclude, chain and _has', async (t) => {
    t.same(ids((await get('Observation?code=29463-7', 'physio')).json()), [], 'search leaves it out');
    t.equal((await get('Observation?code=29463-7&_total=accurate', 'physio')).json().total, 0, 'and does not count it');
    t.equal((await get('Observation?code=29463-7&_summary=count', 'physio')).json().total, 0);
    t.same(ids((await get('Observation?code=29463-7', 'gp')).json()), ['Observation/obs-idk']);
    t.same(ids((await get('Observation?subject=Patient/p-idk', 'gp')).json()), ['Observation/obs-idk'], 'found by the resolved subject');
    t.same(ids((await get('Patient/p-idk/Observation', 'gp')).json()), ['Observation/obs-idk'], 'in the patient compartment');
    t.same(ids((await get(`Observation?subject:identifier=${BSN}|${BSN_IDK}`, 'gp')).json()), ['Observation/obs-idk'], ':identifier still matches');
    t.same(ids((await get(`Observation?subject:identifier=${BSN}|${BSN_IDK}`, 'physio')).json()), [], ':identifier is narrowed too');

    t.same(ids((await get('Observation?_id=obs-idk&_include=Observation:subject', 'gp')).json(), 'include'), ['Patient/p-idk'], '_include follows it');
    t.same(ids((await get('Observation?_id=obs-idk&_include=Observation:performer', 'gp')).json(), 'include'), ['Practitioner/t-gp-pract'], '_include follows a UZI performer');
    t.same(ids((await get('Practitioner?_id=t-gp-pract&_revinclude=Observation:performer', 'gp')).json(), 'include'), ['Observation/obs-idk'], '_revinclude finds it');
    t.same(ids((await get('Practitioner?_id=t-gp-pract&_revinclude=Observation:performer', 'physio')).json(), 'include'), [], '_revinclude leaves it out for others');

    t.same(ids((await get(`Observation?subject:Patient.identifier=${BSN}|${BSN_IDK}`, 'gp')).json()), ['Observation/obs-idk'], 'chain through the resolved subject');
    t.same(ids((await get('Observation?subject:Patient.name=idk', 'physio')).json()), [], 'chain: nothing for others');
    t.same(ids((await get('Patient?_has:Observation:subject:code=29463-7', 'gp')).json()), ['Patient/p-idk'], '_has through it');
    t.same(ids((await get('Practitioner?_has:Observation:performer:code=29463-7', 'gp')).json()), ['Practitioner/t-gp-pract'], '_has through a UZI performer');
    t.same(ids((await get('Practitioner?_has:Observation:performer:code=29463-7', 'physio')).json()), [], '_has does not look through it for others');
  });

  t.test('the patient it names by BSN is in the access log and cannot change on update', async (t) => {
    await get('Observation/obs-idk', 'gp');
    const audit = (await get('AuditEvent?patient=Patient/p-idk&action=R&_sort=-date&_count=50', 'auditor')).json();
    const reads = (audit.entry ?? []).filter(
      (e: Json) => e.resource.outcome === '0' && e.resource.subtype.some((c: Json) => c.code === 'read') && e.resource.entity.some((x: Json) => x.what?.reference?.startsWith('Observation/obs-idk'))
    );
    t.ok(reads.length > 0, 'a read of the Observation is logged under the patient');

    const stored = (await get('Observation/obs-idk', 'admin')).json();
    const moved = await app.request({ method: 'PUT', url: '/fhir/Observation/obs-idk', body: { ...stored, subject: { reference: 'Patient/p-vis' } }, as: 'admin' });
    t.equal(moved.statusCode, 422, 'moving it to another patient is refused as for a literal reference');
    t.equal(moved.json().issue[0].code, 'business-rule');
    t.equal((await app.request({ method: 'PUT', url: '/fhir/Observation/obs-idk', body: { ...stored, status: 'amended' }, as: 'gp' })).statusCode, 200, 'an update that keeps the patient is fine');
  });

  t.test('$everything and $logbook', async (t) => {
    const everything = (await get('Patient/p-idk/$everything?_count=100', 'gp')).json();
    t.ok(everything.entry.some((e: Json) => e.resource.id === 'obs-idk'), 'part of the patient record');
    t.equal((await get('Patient/p-idk/$everything', 'physio')).statusCode, 404);
    const logbook = (await get('Patient/p-idk/$logbook', 'gp')).json();
    t.same(logbook.entry.map((e: Json) => e.resource.id), ['obs-idk'], 'in the patient logbook');
    t.equal((await get('Patient/p-idk/$logbook', 'physio')).statusCode, 404);
  });

  t.test('a Task by BSN whose owner is named by URA gives that organisation access', async (t) => {
    t.equal((await get('Observation/obs-idk', 'nurse')).statusCode, 404, 'the nurse has no relation yet');
    const task = {
      resourceType: 'Task',
      id: 'task-idk',
      status: 'requested',
      intent: 'order',
      for: byBsn(BSN_IDK),
      owner: { identifier: { system: URA, value: '90000003' } },
      requester: { reference: 'PractitionerRole/t-gp-role' },
    };
    t.equal((await app.request({ method: 'PUT', url: '/fhir/Task/task-idk', body: task, as: 'gp' })).statusCode, 201);
    t.equal((await get('Task/task-idk', 'physio')).statusCode, 404, 'others do not see the Task');
    t.equal((await get('Task/task-idk', 'nurse')).statusCode, 200, 'the owner sees it');
    t.equal((await get('Observation/obs-idk', 'nurse')).statusCode, 200, 'and the record of the patient');
    t.ok((await get('Patient/p-idk/$everything?_count=100', 'gp')).json().entry.some((e: Json) => e.resource.id === 'task-idk'), 'the Task is part of the record');
  });

  t.test('joining the care team gives access', async (t) => {
    await put(app, careTeam('ct-idk', 'p-idk', ['gp', 'physio']));
    t.equal((await get('Observation/obs-idk', 'physio')).statusCode, 200);
    t.same(ids((await get('Observation?code=29463-7', 'physio')).json()), ['Observation/obs-idk']);
    await put(app, careTeam('ct-idk', 'p-idk', ['gp']));
  });

  t.test('in a transaction Bundle, a Patient written by an earlier entry is found', async (t) => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:5d0c8f8e-6a51-4a8e-9a55-0d7c2f1e3b01', resource: { resourceType: 'Patient', identifier: [{ system: BSN, value: '999900122' }], managingOrganization: { reference: 'Organization/t-gp' } }, request: { method: 'POST', url: 'Patient' } },
        { resource: { ...observation, id: undefined, subject: byBsn('999900122') }, request: { method: 'POST', url: 'Observation' } },
      ],
    };
    const response = await app.request({ method: 'POST', url: '/fhir', body: bundle, as: 'admin' });
    t.equal(response.statusCode, 200);
    const [patientId, observationId] = response.json().entry.map((e: Json) => /(?:Patient|Observation)\/([^/]+)\/_history/.exec(e.response.location)?.[1]);
    t.same(ids((await get(`Observation?subject=Patient/${patientId}`, 'gp')).json()), [`Observation/${observationId}`]);
    t.equal((await get(`Observation/${observationId}`, 'physio')).statusCode, 404);
  });

  t.test('references by identifier that match nothing, or more than one, are refused', async (t) => {
    const unknown = await app.request({ method: 'POST', url: '/fhir/Observation', as: 'admin', body: { ...observation, id: undefined, subject: byBsn('999900031') } });
    t.equal(unknown.statusCode, 422, 'no Patient with that BSN');
    t.equal(unknown.json().issue[0].code, 'not-found');
    t.same(unknown.json().issue[0].expression, ['Observation.subject.identifier']);

    await put(app, { resourceType: 'Practitioner', id: 'twin-1', identifier: [{ system: UZI, value: '999990099' }] });
    await put(app, { resourceType: 'Practitioner', id: 'twin-2', identifier: [{ system: UZI, value: '999990099' }] });
    const ambiguous = await app.request({ method: 'POST', url: '/fhir/Observation', as: 'admin', body: { ...observation, id: undefined, performer: [{ identifier: { system: UZI, value: '999990099' } }] } });
    t.equal(ambiguous.statusCode, 422, 'two Practitioners with that UZI');
    t.equal(ambiguous.json().issue[0].code, 'multiple-matches');
    t.same(ambiguous.json().issue[0].expression, ['Observation.performer[0].identifier']);

    const typed = await app.request({ method: 'POST', url: '/fhir/Observation', as: 'admin', body: { ...observation, id: undefined, performer: [{ type: 'Organization', identifier: { system: URA, value: '90000077' } }] } });
    t.equal(typed.statusCode, 422, 'Reference.type names what to look for');
  });

  t.test('a professional cannot write into a hidden record by naming the patient by BSN', async (t) => {
    const before = (await get('Observation?_summary=count', 'admin')).json().total;
    const response = await app.request({ method: 'POST', url: '/fhir/Observation', as: 'rehab', body: { ...observation, id: undefined } });
    t.equal(response.statusCode, 422);
    t.equal(response.json().issue[0].code, 'not-found', 'as for a patient that does not exist');
    t.notOk(response.body.includes('p-idk'), 'the answer does not name the hidden record');
    t.equal((await get('Observation?_summary=count', 'admin')).json().total, before, 'nothing was written');
  });
});
