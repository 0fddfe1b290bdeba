/**
 * Care relationships that follow a referral's life (Shared Care Planning): the owner of an accepted
 * referral Task joins the care team of the CarePlan the Task is based on and leaves it when the
 * Task ends (unless another of its Tasks on the plan is still active); after that it keeps reading
 * the referral, its Task and what it wrote itself, and nothing else of the record. And a referral
 * addressed to an organisation reaches that organisation's inbox.
 */
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { careScenario, ORGS, ROLES } from '../helpers/care-scenario.js';
import type { Json } from '../helpers/search.js';

type Who = 'gp' | 'physio' | 'nurse' | 'admin';

async function send(app: TestApp, as: Who, method: 'POST' | 'PUT', resource: Json): Promise<Json> {
  const url = method === 'PUT' ? `/fhir/${resource.resourceType as string}/${resource.id as string}` : `/fhir/${resource.resourceType as string}`;
  const response = await app.request({ method, url, body: resource, as });
  if (response.statusCode >= 300) {
    throw new Error(`${method} ${url} as ${as}: ${response.statusCode} ${response.body}`);
  }
  return response.json();
}

const get = (app: TestApp, as: Who, url: string) => app.request({ method: 'GET', url: `/fhir/${url}`, as });
const physioRole = `PractitionerRole/${ROLES.physio}`;

function carePlan(id: string, team: string): Json {
  return { resourceType: 'CarePlan', id, status: 'active', intent: 'plan', subject: { reference: 'Patient/p-kok' }, careTeam: [{ reference: `CareTeam/${team}` }] };
}

function serviceRequest(id: string, extra: Json = {}): Json {
  return {
    resourceType: 'ServiceRequest',
    id,
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/p-kok' },
    requester: { reference: `PractitionerRole/${ROLES.gp}` },
    performer: [{ reference: physioRole }],
    code: { text: 'Fysiotherapie' },
    ...extra,
  };
}

function task(id: string, sr: string, extra: Json = {}): Json {
  return {
    resourceType: 'Task',
    id,
    status: 'requested',
    intent: 'order',
    focus: { reference: `ServiceRequest/${sr}` },
    for: { reference: 'Patient/p-kok' },
    requester: { reference: `PractitionerRole/${ROLES.gp}` },
    owner: { reference: physioRole },
    ...extra,
  };
}

/** Moves a Task through states as its owner; completing needs the feedback's id. */
async function move(app: TestApp, id: string, statuses: string[], feedbackId?: string): Promise<void> {
  for (const status of statuses) {
    const current = (await get(app, 'admin', `Task/${id}`)).json();
    const output = status === 'completed' && feedbackId ? { output: [{ type: { text: 'Terugkoppeling' }, valueReference: { reference: `Communication/${feedbackId}` } }] } : {};
    await send(app, 'physio', 'PUT', { ...current, status, ...output });
  }
}

const physioParticipants = async (app: TestApp, team: string): Promise<Json[]> =>
  ((await get(app, 'admin', `CareTeam/${team}`)).json().participant ?? []).filter((p: Json) => p.member?.reference === physioRole);

t.test(`a referral's care relationship on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  await send(app, 'admin', 'PUT', { resourceType: 'CareTeam', id: 'ct-plan', status: 'active', subject: { reference: 'Patient/p-kok' }, participant: [{ member: { reference: `PractitionerRole/${ROLES.gp}` } }] });
  await send(app, 'admin', 'PUT', carePlan('cp-1', 'ct-plan'));

  await t.test('accepting joins the care team, completing leaves it; the own contributions stay readable', async (t) => {
    await send(app, 'gp', 'PUT', serviceRequest('sr-1'));
    await send(app, 'gp', 'PUT', task('task-1', 'sr-1', { basedOn: [{ reference: 'CarePlan/cp-1' }] }));
    await move(app, 'task-1', ['received']);
    t.same(await physioParticipants(app, 'ct-plan'), [], 'not a member before accepting');
    const before = Date.now();
    await move(app, 'task-1', ['accepted']);
    const joined = await physioParticipants(app, 'ct-plan');
    t.equal(joined.length, 1, 'a participant for the owner');
    t.ok(Date.parse(joined[0]?.period?.start) >= before - 1000, 'period.start is the time of acceptance');
    t.notOk(joined[0]?.period?.end, 'and no end while the referral is worked on');
    t.equal((await get(app, 'admin', 'CareTeam/ct-plan/_history?_count=10')).json().total, 2, 'a new CareTeam version');

    const fb = await send(app, 'physio', 'POST', {
      resourceType: 'Communication',
      status: 'completed',
      basedOn: [{ reference: 'ServiceRequest/sr-1' }],
      subject: { reference: 'Patient/p-kok' },
      sender: { reference: physioRole },
      payload: [{ contentString: 'Behandeling afgerond.' }],
    });
    const own = await send(app, 'physio', 'POST', { resourceType: 'Observation', status: 'final', code: { text: 'Handknijpkracht' }, subject: { reference: 'Patient/p-kok' } });
    await move(app, 'task-1', ['in-progress', 'completed'], fb.id);
    const left = await physioParticipants(app, 'ct-plan');
    t.equal(left.length, 1);
    t.ok(left[0]?.period?.end, 'completing sets period.end');
    t.ok(Date.parse(left[0]?.period?.end) >= Date.parse(left[0]?.period?.start));

    for (const url of [`Communication/${fb.id as string}`, 'ServiceRequest/sr-1', 'Task/task-1', `Observation/${own.id as string}`]) {
      t.equal((await get(app, 'physio', url)).statusCode, 200, `${url}: its own contribution stays readable`);
    }
    for (const url of ['Observation/obs-kok', 'Patient/p-kok', 'CarePlan/cp-1', 'CareTeam/ct-plan', 'CareTeam/ct-kok']) {
      t.equal((await get(app, 'physio', url)).statusCode, 404, `${url}: the rest of the record is hidden again`);
    }
    const ids = (body: Json, mode = 'match') => (body.entry ?? []).filter((e: Json) => e.search?.mode === mode).map((e: Json) => `${e.resource.resourceType}/${e.resource.id}`).sort();
    t.same(ids((await get(app, 'physio', 'Observation?subject=Patient/p-kok')).json()), [`Observation/${own.id as string}`], 'search finds only its own');
    t.same(ids((await get(app, 'physio', 'Communication?based-on=ServiceRequest/sr-1')).json()), [`Communication/${fb.id as string}`]);
    const withIncludes = (await get(app, 'physio', 'Task?_id=task-1&_include=Task:focus&_include=Task:patient&_include=Task:based-on')).json();
    t.same(ids(withIncludes, 'include'), ['ServiceRequest/sr-1'], 'includes add the referral, not the patient or the plan');
    const update = await app.request({ method: 'PUT', url: `/fhir/Communication/${fb.id as string}`, as: 'physio', body: { ...fb, payload: [{ contentString: 'gewijzigd' }] } });
    t.equal(update.statusCode, 404, 'the grant is for reading only');
    t.equal((await get(app, 'nurse', `Communication/${fb.id as string}`)).statusCode, 404, 'nobody else gains anything');
  });

  await t.test('another active Task on the plan keeps the membership', async (t) => {
    await send(app, 'admin', 'PUT', { resourceType: 'CareTeam', id: 'ct-two', status: 'active', subject: { reference: 'Patient/p-kok' }, participant: [{ member: { reference: `PractitionerRole/${ROLES.gp}` } }] });
    await send(app, 'admin', 'PUT', carePlan('cp-2', 'ct-two'));
    for (const n of ['a', 'b']) {
      // Addressed through the Task only: an active referral naming a performer relates it by itself.
      await send(app, 'gp', 'PUT', serviceRequest(`sr-2${n}`, { performer: undefined }));
      await send(app, 'gp', 'PUT', task(`task-2${n}`, `sr-2${n}`, { basedOn: [{ reference: 'CarePlan/cp-2' }] }));
      await move(app, `task-2${n}`, ['received', 'accepted']);
    }
    t.equal((await physioParticipants(app, 'ct-two')).length, 1, 'one participation for both Tasks');
    await move(app, 'task-2a', ['in-progress', 'failed']);
    const still = await physioParticipants(app, 'ct-two');
    t.equal(still.length, 1);
    t.notOk(still[0]?.period?.end, 'task-2b is still accepted: the membership stays');
    t.equal((await get(app, 'physio', 'Observation/obs-kok')).statusCode, 200, 'and so does access to the record');
    await move(app, 'task-2b', ['in-progress', 'failed']);
    t.ok((await physioParticipants(app, 'ct-two'))[0]?.period?.end, 'the last active Task ends it');
    t.equal((await get(app, 'physio', 'Observation/obs-kok')).statusCode, 404);
  });

  await t.test('a cancellation by the requester ends the membership too', async (t) => {
    await send(app, 'admin', 'PUT', { resourceType: 'CareTeam', id: 'ct-three', status: 'active', subject: { reference: 'Patient/p-kok' }, participant: [{ member: { reference: `PractitionerRole/${ROLES.gp}` } }] });
    await send(app, 'admin', 'PUT', carePlan('cp-3', 'ct-three'));
    await send(app, 'gp', 'PUT', serviceRequest('sr-3', { performer: undefined }));
    await send(app, 'gp', 'PUT', task('task-3', 'sr-3', { basedOn: [{ reference: 'CarePlan/cp-3' }] }));
    await move(app, 'task-3', ['received', 'accepted']);
    t.notOk((await physioParticipants(app, 'ct-three'))[0]?.period?.end, 'a member while accepted');
    await send(app, 'gp', 'PUT', { ...(await get(app, 'gp', 'Task/task-3')).json(), status: 'cancelled' });
    t.ok((await physioParticipants(app, 'ct-three'))[0]?.period?.end, 'cancelled: period.end set');
    t.equal((await get(app, 'physio', 'Observation/obs-kok')).statusCode, 404);
    t.equal((await get(app, 'physio', 'Task/task-3')).statusCode, 200, 'the Task stays readable to its former owner');
  });

  await t.test('a referral addressed to an organisation is in its inbox', async (t) => {
    await send(app, 'gp', 'PUT', serviceRequest('sr-org', { performer: [{ reference: `Organization/${ORGS.nurse}` }] }));
    await send(app, 'gp', 'PUT', task('task-org', 'sr-org', { owner: { reference: `Organization/${ORGS.nurse}` } }));
    const inbox = (await get(app, 'nurse', `Task?owner=Organization/${ORGS.nurse}&status=requested&_include=Task:focus`)).json();
    const entries = (inbox.entry ?? []).map((e: Json) => `${e.search.mode as string}:${e.resource.resourceType as string}/${e.resource.id as string}`).sort();
    t.same(entries, ['include:ServiceRequest/sr-org', 'match:Task/task-org']);
    const received = await app.request({ method: 'PUT', url: '/fhir/Task/task-org', as: 'nurse', body: { ...(await get(app, 'nurse', 'Task/task-org')).json<Json>(), status: 'received' } });
    t.equal(received.statusCode, 200, 'a user of the organisation takes it in');
  });
});
