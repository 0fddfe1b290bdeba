/**
 * Notified pull (src/auth/pull-grants.ts, domain/notified-pull/notification-task.ts): a
 * notification Task gives the owner organisation's users read access to exactly its inputs,
 * within restriction.period, until the Task ends; the sender cannot hand over what it cannot read
 * itself; the receiver's subscription on Task?owner= is notified; the grant and its use are audited.
 */
import t from 'tap';
import type { Test } from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import type { DemoName } from '../helpers/auth.js';
import { careScenario, observation, ORGS, ROLES } from '../helpers/care-scenario.js';
import { assertIssue } from '../helpers/outcome.js';
import { startReceiver } from '../helpers/rest-hook-receiver.js';
import { ids, put, type Json } from '../helpers/search.js';

const HOUR = 3_600_000;
const iso = (offsetMs: number): string => new Date(Date.now() + offsetMs).toISOString();

function notification(inputs: string[], extra: Json = {}): Json {
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: 'http://fhir.nl/fhir/NamingSystem/TaskCode', code: 'pull-notification' }] },
    for: { reference: 'Patient/p-kok' },
    requester: { reference: `PractitionerRole/${ROLES.gp}` },
    owner: { reference: `Organization/${ORGS.nurse}` },
    restriction: { period: { start: iso(-HOUR), end: iso(24 * HOUR) } },
    input: inputs.map((reference) => ({ type: { text: 'Gegevens' }, valueReference: { reference } })),
    ...extra,
  };
}

async function create(app: TestApp, as: DemoName, resource: Json): Promise<Json> {
  const response = await app.request({ method: 'POST', url: `/fhir/${resource.resourceType as string}`, body: resource, as });
  if (response.statusCode !== 201) {
    throw new Error(`create as ${as}: ${response.statusCode} ${response.body}`);
  }
  return response.json();
}

const status = async (app: TestApp, as: DemoName, url: string): Promise<number> => (await app.request({ method: 'GET', url: `/fhir/${url}`, as })).statusCode;

async function setStatus(app: TestApp, as: DemoName, task: Json, next: string): Promise<void> {
  const current = (await app.request({ method: 'GET', url: `/fhir/Task/${task.id as string}`, as })).json();
  const response = await app.request({ method: 'PUT', url: `/fhir/Task/${task.id as string}`, body: { ...current, status: next }, as });
  if (response.statusCode !== 200) {
    throw new Error(`status ${next}: ${response.statusCode} ${response.body}`);
  }
}

const idsAs = async (app: TestApp, as: DemoName, url: string): Promise<string[]> => {
  const response = await app.request({ method: 'GET', url: `/fhir/${url}`, as });
  return ((response.json().entry ?? []) as Json[]).map((e) => e.resource.id as string).sort();
};

t.test(`notified pull on ${engine}`, async (t: Test) => {
  const app = await createTestApp(t);
  await careScenario(app);
  await put(app, observation('obs-kok-3', 'p-kok'));

  await t.test('the owner organisation reads exactly the inputs, and nothing else of the patient', async (t) => {
    t.equal(await status(app, 'nurse', 'Observation/obs-kok'), 404, 'not in care before');
    const task = await create(app, 'gp', notification(['Observation/obs-kok', 'Observation/obs-kok-3']));
    t.equal(await status(app, 'nurse', 'Observation/obs-kok'), 200, 'an input is readable');
    t.equal(await status(app, 'nurse', 'Observation/obs-kok-3'), 200, 'so is the other input');
    t.equal(await status(app, 'nurse', `Task/${task.id as string}`), 200, 'and the notification Task itself');
    t.equal(await status(app, 'nurse', 'Observation/obs-kok-2'), 404, 'another Observation of the patient is not');
    t.equal(await status(app, 'nurse', 'Patient/p-kok'), 404, 'nor the Patient');
    t.same(await idsAs(app, 'nurse', 'Observation?subject=Patient/p-kok'), ['obs-kok', 'obs-kok-3'], 'a search finds only the inputs');
    t.equal(await status(app, 'rehab', 'Observation/obs-kok'), 404, 'another organisation reads nothing');
    const write = await app.request({ method: 'PUT', url: '/fhir/Observation/obs-kok', body: observation('obs-kok', 'p-kok', { status: 'amended' }), as: 'nurse' });
    t.equal(write.statusCode, 404, 'reading is all: the receiver cannot change an input');
    await setStatus(app, 'gp', task, 'completed');
  });

  await t.test('completing or cancelling the Task ends the access', async (t) => {
    for (const end of ['completed', 'cancelled']) {
      const task = await create(app, 'gp', notification(['Observation/obs-kok']));
      t.equal(await status(app, 'nurse', 'Observation/obs-kok'), 200, `readable before ${end}`);
      await setStatus(app, 'gp', task, end);
      t.equal(await status(app, 'nurse', 'Observation/obs-kok'), 404, `not after ${end}`);
      t.equal(await status(app, 'nurse', `Task/${task.id as string}`), 404, `nor the Task after ${end}`);
    }
  });

  await t.test('the receiver reports back on the Task, and only on what it owns', async (t) => {
    const task = await create(app, 'gp', notification(['Observation/obs-kok']));
    const url = `/fhir/Task/${task.id as string}`;
    const stored = (await app.request({ method: 'GET', url, as: 'nurse' })).json();
    const put = (as: DemoName, body: Json) => app.request({ method: 'PUT', url, body, as });
    assertIssue(t, await put('nurse', { ...stored, restriction: { period: { end: iso(365 * 24 * HOUR) } } }), 403, 'forbidden', 'Task.restriction');
    assertIssue(t, await put('nurse', { ...stored, input: [...stored.input, { type: { text: 'meer' }, valueReference: { reference: 'Observation/obs-kok-2' } }] }), 403, 'forbidden', 'Task.input');
    t.equal((await put('rehab', { ...stored, status: 'in-progress' })).statusCode, 404, 'another organisation cannot');
    const deleted = await app.request({ method: 'DELETE', url, as: 'nurse' });
    assertIssue(t, deleted, 403, 'forbidden');
    const started = await put('nurse', { ...stored, status: 'in-progress' });
    t.equal(started.statusCode, 200, 'the receiver moves it on');
    t.equal(await status(app, 'nurse', 'Observation/obs-kok'), 200, 'still readable while in progress');
    const done = await put('nurse', { ...started.json(), status: 'completed', businessStatus: { text: 'Opgehaald' } });
    t.equal(done.statusCode, 200, 'and completes it');
    t.equal(await status(app, 'nurse', 'Observation/obs-kok'), 404, 'which ends its access');
    t.equal((await put('nurse', { ...done.json(), status: 'in-progress' })).statusCode, 404, 'an ended Task does not open again for the receiver');
  });

  await t.test('the access holds only within restriction.period', async (t) => {
    const later = await create(app, 'gp', notification(['Observation/obs-kok'], { restriction: { period: { start: iso(HOUR), end: iso(2 * HOUR) } } }));
    t.equal(await status(app, 'nurse', 'Observation/obs-kok'), 404, 'not before the period starts');
    await setStatus(app, 'gp', later, 'cancelled');
    const end = Date.now() + 1500;
    const brief = await create(app, 'gp', notification(['Observation/obs-kok'], { restriction: { period: { end: new Date(end).toISOString() } } }));
    t.equal(await status(app, 'nurse', 'Observation/obs-kok'), 200, 'readable within the period');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, end - Date.now()) + 100));
    t.equal(await status(app, 'nurse', 'Observation/obs-kok'), 404, 'not once the period has ended');
    const pass = await app.app.reminders.runOnce();
    t.ok(pass.expiredGrants >= 2, 'the reminder pass removes the expired grants');
    const left = await app.app.fhirContext.repo.queryable.query(`SELECT 1 FROM read_grant WHERE source_type = 'Task' AND source_id = $1`, [brief.id]);
    t.equal(left.length, 0, 'none of that Task is left');
  });

  await t.test('a sender cannot grant what it cannot read', async (t) => {
    const stranger = await app.request({ method: 'POST', url: '/fhir/Task', body: notification(['Observation/obs-kok'], { requester: { reference: `PractitionerRole/${ROLES.rehab}` } }), as: 'rehab' });
    assertIssue(t, stranger, 422, 'not-found');
    const onward = await app.request({
      method: 'POST',
      url: '/fhir/Task',
      body: notification(['Observation/obs-kok'], { requester: { reference: `PractitionerRole/${ROLES.nurse}` }, owner: { reference: `Organization/${ORGS.rehab}` } }),
      as: 'nurse',
    });
    t.equal(await status(app, 'nurse', 'Observation/obs-kok'), 404, 'the nurse holds no grant now');
    assertIssue(t, onward, 422, 'not-found');
    const granted = await create(app, 'gp', notification(['Observation/obs-kok']));
    const passOn = await app.request({
      method: 'POST',
      url: '/fhir/Task',
      body: notification(['Observation/obs-kok'], { requester: { reference: `PractitionerRole/${ROLES.nurse}` }, owner: { reference: `Organization/${ORGS.rehab}` } }),
      as: 'nurse',
    });
    assertIssue(t, passOn, 422, 'not-found');
    t.equal(await status(app, 'rehab', 'Observation/obs-kok'), 404, 'a receiver cannot pass on what it may only fetch');
    await setStatus(app, 'gp', granted, 'completed');
  });

  await t.test('a notification Task must say what, to whom and until when', async (t) => {
    const noEnd = await app.request({ method: 'POST', url: '/fhir/Task', body: notification(['Observation/obs-kok'], { restriction: { period: { start: iso(0) } } }), as: 'gp' });
    assertIssue(t, noEnd, 422, 'required', 'Task.restriction.period.end');
    const noInput = await app.request({ method: 'POST', url: '/fhir/Task', body: { ...notification([]), input: undefined }, as: 'gp' });
    assertIssue(t, noInput, 422, 'required', 'Task.input');
    assertIssue(t, await app.request({ method: 'POST', url: '/fhir/Task', body: notification(['Observation/obs-kok'], { owner: { reference: 'Patient/p-kok' } }), as: 'gp' }), 422, 'required', 'Task.owner');
  });

  await t.test('the grant and its use are audited', async (t) => {
    const task = await create(app, 'gp', notification(['Observation/obs-kok']));
    t.equal(await status(app, 'nurse', 'Observation/obs-kok'), 200);
    const db = app.app.fhirContext.repo.queryable;
    const rows = await db.query<{ event: string; client_id: string; resources: string[] }>(
      `SELECT l.event, a.client_id, l.resources FROM audit_log l JOIN audit_agent a ON a.agent_id = l.agent
        WHERE l.outcome = 0 AND a.client_id = ANY($1::text[]) AND l.event = ANY($2::text[])`,
      [['gp', 'nurse'], ['create', 'read']]
    );
    t.ok(rows.some((r) => r.event === 'create' && r.client_id === 'gp' && r.resources.some((x) => x.startsWith(`Task/${task.id as string}`))), 'the grant: the create by the sender');
    t.ok(rows.some((r) => r.event === 'read' && r.client_id === 'nurse' && r.resources.some((x) => x.startsWith('Observation/obs-kok'))), 'its use: the read by the receiver');
    await setStatus(app, 'gp', task, 'completed');
  });

  await t.test("the receiver's subscription on Task?owner= is notified", async (t) => {
    const receiver = await startReceiver(t);
    const subscription = await create(app, 'nurse', {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'notified pull',
      criteria: `Task?owner=Organization/${ORGS.nurse}`,
      channel: {
        type: 'rest-hook',
        endpoint: `${receiver.url}/inbox`,
        payload: 'application/fhir+json',
        _payload: { extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content', valueCode: 'id-only' }] },
      },
    });
    const drain = (): Promise<void> => app.app.subscriptions.drain(app.app.resourceEvents);
    await drain();
    t.equal((await app.request({ method: 'GET', url: `/fhir/Subscription/${subscription.id as string}`, as: 'nurse' })).json().status, 'active');
    const before = receiver.on('/inbox').length;
    const task = await create(app, 'gp', notification(['Observation/obs-kok']));
    await drain();
    const delivered = receiver.on('/inbox').slice(before);
    t.ok(
      delivered.some((r) => JSON.stringify(r.body).includes(`Task/${task.id as string}`)),
      'a notification names the Task'
    );
    t.same(await ids(app, `Task?owner=Organization/${ORGS.nurse}&_id=${task.id as string}`), [task.id], 'and the receiver finds it');
    await setStatus(app, 'gp', task, 'completed');
  });
});
