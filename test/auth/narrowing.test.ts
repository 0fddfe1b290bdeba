// Care-relationship narrowing (docs/security.md): what a professional outside the care team sees, through every path.
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { careScenario, careTeam } from '../helpers/care-scenario.js';
import { put, withoutProvenance } from '../helpers/search.js';

const ids = (body: any, mode = 'match'): string[] =>
  (body.entry ?? []).filter((e: any) => e.search?.mode === mode).map((e: any) => `${e.resource.resourceType}/${e.resource.id}`).sort();

t.test(`a physio outside the care team sees nothing of the patient on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const as = (who: 'physio' | 'gp' | 'admin') => async (url: string) => app.request({ method: 'GET', url: `/fhir/${url}`, as: who });
  const physio = as('physio');
  const admin = as('admin');

  // Read and vread: 404, exactly as for a resource that does not exist.
  for (const url of ['Observation/obs-kok', 'Observation/obs-kok/_history/1', 'Patient/p-kok', 'CareTeam/ct-kok', 'Observation/obs-kok/_history']) {
    const hidden = await physio(url);
    const missing = await physio(url.replace('kok', 'nobody'));
    t.equal(hidden.statusCode, 404, `${url} is hidden`);
    t.equal(hidden.json().issue[0].code, missing.json().issue[0].code, `${url} answers as a missing resource`);
    t.equal((await admin(url)).statusCode, 200, `${url} exists`);
  }
  t.equal((await physio('Observation/obs-vis')).statusCode, 200, 'the care team patient is visible');
  t.equal((await physio('Organization/t-gp')).statusCode, 200, 'organisations are shared reference data');

  // Search, with totals counting only what may be seen.
  t.same(ids((await physio('Observation?_total=accurate')).json()), ['Observation/obs-vis']);
  t.equal((await physio('Observation?_total=accurate')).json().total, 1);
  t.equal((await admin('Observation?_total=accurate')).json().total, 3);
  t.equal((await physio('Observation?_summary=count')).json().total, 1);
  t.same(ids((await physio('Patient?name=kok')).json()), [], 'empty search');
  t.equal((await physio('Patient?name=kok')).json().total, 0);
  t.same(ids((await physio('Patient/p-kok/Observation')).json()), [], 'compartment search');
  t.same(ids((await physio('Observation?subject=Patient/p-kok')).json()), []);

  // _include and _revinclude never add hidden resources.
  const include = (await physio('Observation?_id=obs-vis&_include=Observation:derived-from')).json();
  t.same(ids(include), ['Observation/obs-vis']);
  t.same(ids(include, 'include'), [], '_include leaves the hidden target out');
  t.same(ids((await admin('Observation?_id=obs-vis&_include=Observation:derived-from')).json(), 'include'), ['Observation/obs-kok']);
  const revinclude = (await physio('Observation?_id=obs-vis&_revinclude=Observation:derived-from')).json();
  t.same(ids(revinclude, 'include'), [], '_revinclude leaves the hidden source out');
  t.same(ids((await admin('Observation?_id=obs-vis&_revinclude=Observation:derived-from')).json(), 'include'), ['Observation/obs-kok-2']);
  const orgWithPatients = (await physio('Organization?_id=t-gp&_revinclude=Patient:organization')).json();
  t.same(ids(orgWithPatients, 'include'), ['Patient/p-vis'], 'only the patient in care is revincluded');

  // Chained and _has criteria do not look through hidden resources.
  t.same(ids((await admin('Observation?derived-from:Observation.code=8480-6')).json()), ['Observation/obs-vis']);
  t.same(ids((await physio('Observation?derived-from:Observation.code=8480-6')).json()), [], 'chain through a hidden target');
  t.same(ids((await admin('Observation?_has:Observation:derived-from:subject=Patient/p-kok')).json()), ['Observation/obs-vis']);
  t.same(ids((await physio('Observation?_has:Observation:derived-from:subject=Patient/p-kok')).json()), [], '_has through a hidden source');
  t.same(ids((await admin('Organization?_has:Patient:organization:name=kok')).json()), ['Organization/t-gp']);
  t.same(ids((await physio('Organization?_has:Patient:organization:name=kok')).json()), []);

  // History at type and system level.
  const typeHistory = (await physio('Observation/_history')).json();
  t.same(typeHistory.entry.map((e: any) => e.resource.id), ['obs-vis']);
  t.equal(typeHistory.total, 1);
  const systemHistory = withoutProvenance((await physio('_history?_count=100')).json().entry).map((e: any) => `${e.resource.resourceType}/${e.resource.id}`);
  t.notOk(systemHistory.some((r: string) => r.includes('kok')), 'system history shows nothing of the hidden patient');
  t.ok(systemHistory.includes('Observation/obs-vis'));
  const provenance = (await physio('Provenance?_total=accurate&_count=100')).json();
  t.notOk(provenance.entry.some((e: any) => e.resource.target[0].reference.includes('kok')), 'Provenance of hidden resources is hidden');
  t.ok(provenance.entry.some((e: any) => e.resource.target[0].reference.startsWith('Observation/obs-vis/')));
});

t.test(`joining and leaving the care team on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const read = (url: string) => app.request({ method: 'GET', url: `/fhir/${url}`, as: 'physio' });
  t.equal((await read('Observation/obs-kok')).statusCode, 404);

  await put(app, careTeam('ct-kok', 'p-kok', ['gp', 'physio']));
  t.equal((await read('Observation/obs-kok')).statusCode, 200, 'added to the care team: access');
  t.equal((await read('Patient/p-kok')).statusCode, 200);
  t.equal((await read('Observation?subject=Patient/p-kok&_total=accurate')).json().total, 2);

  await put(app, careTeam('ct-kok', 'p-kok', ['gp']));
  t.equal((await read('Observation/obs-kok')).statusCode, 404, 'removed from the care team: no access');

  await put(app, careTeam('ct-kok', 'p-kok', ['gp', 'physio'], { status: 'inactive' }));
  t.equal((await read('Observation/obs-kok')).statusCode, 404, 'an inactive care team gives no access');

  const ended = careTeam('ct-kok', 'p-kok', ['gp', 'physio']);
  ended.participant[1].period = { start: '2020-01-01', end: '2021-01-01' };
  await put(app, ended);
  t.equal((await read('Observation/obs-kok')).statusCode, 404, 'an ended participation gives no access');

  const onBehalf = careTeam('ct-kok', 'p-kok', ['gp']);
  onBehalf.participant.push({ member: { reference: 'Practitioner/t-rehab-pract' }, onBehalfOf: { reference: 'Organization/t-physio' } });
  await put(app, onBehalf);
  t.equal((await read('Observation/obs-kok')).statusCode, 200, 'a participant acting on behalf of the organisation gives access');

  await put(app, careTeam('ct-kok', 'p-kok', ['gp']));
  await put(app, {
    resourceType: 'ServiceRequest',
    id: 'sr-kok',
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/p-kok' },
    requester: { reference: 'PractitionerRole/t-gp-role' },
    performer: [{ reference: 'Organization/t-physio' }],
  });
  t.equal((await read('Observation/obs-kok')).statusCode, 200, 'the performer of an active referral has access');
  t.equal((await app.request({ method: 'GET', url: '/fhir/Observation/obs-kok', as: 'nurse' })).statusCode, 404, 'others still do not');
});

t.test(`Patient/$everything is the patient's record, narrowed like a read, on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  const get = (url: string, as: 'gp' | 'physio') => app.request({ method: 'GET', url: `/fhir/${url}`, as });
  t.equal((await get('Patient/p-kok/$everything', 'physio')).statusCode, 404, 'outside the care relation: 404');
  const all = (await get('Patient/p-kok/$everything?_count=100', 'gp')).json();
  const kinds = all.entry.map((e: any) => `${e.resource.resourceType}/${e.resource.id}`);
  for (const expected of ['Patient/p-kok', 'Observation/obs-kok', 'Observation/obs-kok-2', 'CareTeam/ct-kok']) {
    t.ok(kinds.includes(expected), `${expected} is part of it`);
  }
  t.notOk(kinds.some((k: string) => k.includes('vis')), 'nothing of another patient');
  t.notOk(kinds.some((k: string) => k.startsWith('Provenance/')), 'the server Provenance is no part of it unless asked for');
  t.ok((await get('Patient/p-kok/$everything?_type=Provenance', 'gp')).json().entry.length > 0, '_type=Provenance asks for it');
  t.same((await get('Patient/p-kok/$everything?_type=Observation', 'gp')).json().entry.map((e: any) => e.resource.id).sort(), ['obs-kok', 'obs-kok-2']);

  const first = (await get('Patient/p-kok/$everything?_type=Observation,CareTeam&_count=2', 'gp')).json();
  t.equal(first.entry.length, 2);
  const next = new URL(first.link.find((l: any) => l.relation === 'next').url);
  const second = (await get(`${next.pathname.replace('/fhir/', '')}${next.search}`, 'gp')).json();
  t.equal(second.entry.length, 1, 'paged by cursor');
  t.equal((await get('Patient/p-kok/$everything?start=2020-01-01', 'gp')).statusCode, 200);

  const physio = (await get('Patient/p-vis/$everything?_count=100', 'physio')).json();
  t.ok(physio.entry.some((e: any) => e.resource.id === 'obs-vis'));
  t.notOk(physio.entry.some((e: any) => e.resource.id === 'obs-kok'), 'a resource the record references is not part of it');
});
