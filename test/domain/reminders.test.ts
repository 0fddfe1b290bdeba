/**
 * The reminder pass (src/domain/reminders/): measurement Tasks past their window become `overdue`,
 * accepted referrals without feedback past REFERRAL_FEEDBACK_DUE_DAYS become `feedback-overdue`,
 * each once, as a versioned update by the server with Provenance and a change event; Tasks in
 * their window, done, or with feedback are left alone; two passes at once do the work once.
 */
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import type { DemoName } from '../helpers/auth.js';
import { careScenario, ROLES } from '../helpers/care-scenario.js';
import { eventHead, eventsAfter } from '../helpers/events.js';
import type { Json } from '../helpers/search.js';

const PAIN = 'http://schakel.nl/fhir/CodeSystem/pain-outcomes';
const STATUS_SYSTEM = 'http://schakel.nl/fhir/CodeSystem/task-business-status';
const DAY = 86_400_000;
const day = (offsetDays: number): string => new Date(Date.now() + offsetDays * DAY).toISOString().slice(0, 10);

function measurementTask(id: string, windowEnd: string, status = 'requested'): Json {
  return {
    resourceType: 'Task',
    id,
    status,
    intent: 'order',
    for: { reference: 'Patient/p-kok' },
    owner: { reference: 'Patient/p-kok' },
    restriction: { period: { start: '2026-01-01', end: windowEnd } },
    input: [{ type: { coding: [{ system: PAIN, code: 'questionnaire' }] }, valueCanonical: 'http://schakel.nl/fhir/Questionnaire/nprs|1.0.0' }],
  };
}

async function send(app: TestApp, as: DemoName, method: 'POST' | 'PUT', resource: Json): Promise<Json> {
  const url = method === 'PUT' ? `/fhir/${resource.resourceType as string}/${resource.id as string}` : `/fhir/${resource.resourceType as string}`;
  const response = await app.request({ method, url, body: resource, as });
  if (response.statusCode >= 300) {
    throw new Error(`${method} ${url} as ${as}: ${response.statusCode} ${response.body}`);
  }
  return response.json();
}

const read = async (app: TestApp, url: string): Promise<Json> => (await app.request({ method: 'GET', url: `/fhir/${url}` })).json();
const codes = (task: Json): string[] => ((task.businessStatus?.coding ?? []) as Json[]).filter((c) => c.system === STATUS_SYSTEM).map((c) => c.code as string);

/** An accepted referral of the GP to the physiotherapist (ServiceRequest and Task `id`). */
async function acceptedReferral(app: TestApp, id: string): Promise<void> {
  await send(app, 'gp', 'PUT', {
    resourceType: 'ServiceRequest',
    id,
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/p-kok' },
    requester: { reference: `PractitionerRole/${ROLES.gp}` },
    performer: [{ reference: `PractitionerRole/${ROLES.physio}` }],
    code: { text: 'Fysiotherapie' },
  });
  await send(app, 'gp', 'PUT', {
    resourceType: 'Task',
    id: `task-${id}`,
    status: 'requested',
    intent: 'order',
    focus: { reference: `ServiceRequest/${id}` },
    for: { reference: 'Patient/p-kok' },
    requester: { reference: `PractitionerRole/${ROLES.gp}` },
    owner: { reference: `PractitionerRole/${ROLES.physio}` },
  });
  for (const status of ['received', 'accepted']) {
    const current = await read(app, `Task/task-${id}`);
    await send(app, 'physio', 'PUT', { ...current, status });
  }
}

t.test(`the reminder pass on ${engine}`, async (t) => {
  const app = await createTestApp(t, { REMINDER_INTERVAL_SECONDS: '0', REFERRAL_FEEDBACK_DUE_DAYS: '14' });
  await careScenario(app);
  await send(app, 'admin', 'PUT', measurementTask('mt-late', day(-10)));
  await send(app, 'admin', 'PUT', measurementTask('mt-window', day(30)));
  await send(app, 'admin', 'PUT', measurementTask('mt-today', day(0)));
  await send(app, 'admin', 'PUT', measurementTask('mt-done', day(-10), 'completed'));
  await acceptedReferral(app, 'sr-silent');
  await acceptedReferral(app, 'sr-answered');
  await send(app, 'physio', 'POST', {
    resourceType: 'Communication',
    status: 'completed',
    basedOn: [{ reference: 'ServiceRequest/sr-answered' }],
    subject: { reference: 'Patient/p-kok' },
    payload: [{ contentString: 'Eerste bevindingen.' }],
  });

  await t.test('a measurement Task past its window becomes overdue, once', async (t) => {
    const head = await eventHead(app.app);
    const first = await app.app.reminders.runOnce();
    t.same(first, { ran: true, overdue: ['mt-late'], feedbackOverdue: [], expiredGrants: 0 }, 'only the Task whose window has passed; no referral is due yet');
    const late = await read(app, 'Task/mt-late');
    t.same(codes(late), ['overdue']);
    t.equal(late.status, 'requested', 'the status stays: the measurement may still come');
    t.equal(late.meta.versionId, '2', 'a new version');
    for (const id of ['mt-window', 'mt-today', 'mt-done']) {
      const task = await read(app, `Task/${id}`);
      t.equal(task.meta.versionId, '1', `${id} is left alone`);
    }
    const events = await eventsAfter(app.app, head);
    t.ok(events.some((e) => e.resourceType === 'Task' && e.id === 'mt-late' && e.versionId === 2), 'a change event for the update');
    const provenance = (await read(app, 'Provenance?target=Task/mt-late/_history/2')).entry ?? [];
    t.equal(provenance.length, 1, 'a Provenance for the version');
    t.same(provenance[0]?.resource.agent.map((a: Json) => a.who.identifier?.value), ['schakel'], 'by the server');

    const second = await app.app.reminders.runOnce();
    t.same(second, { ran: true, overdue: [], feedbackOverdue: [], expiredGrants: 0 }, 'a second pass changes nothing');
    t.equal((await read(app, 'Task/mt-late')).meta.versionId, '2');
  });

  await t.test('an accepted referral without feedback becomes feedback-overdue after the due days, once', async (t) => {
    const soon = await app.app.reminders.runOnce(new Date(Date.now() + 13 * DAY));
    t.same(soon.feedbackOverdue, [], 'not within the due days');
    const later = new Date(Date.now() + 15 * DAY);
    const due = await app.app.reminders.runOnce(later);
    t.same(due.feedbackOverdue, ['task-sr-silent'], 'only the referral without feedback');
    const silent = await read(app, 'Task/task-sr-silent');
    t.same(codes(silent), ['feedback-overdue']);
    t.equal(silent.status, 'accepted');
    const answered = await read(app, 'Task/task-sr-answered');
    t.same(codes(answered), [], 'a referral with feedback is left alone');
    const again = await app.app.reminders.runOnce(later);
    t.same(again.feedbackOverdue, [], 'a second pass changes nothing');
    t.equal((await read(app, 'Task/task-sr-silent')).meta.versionId, silent.meta.versionId);
  });

  await t.test('two passes at the same time do the work once', async (t) => {
    await send(app, 'admin', 'PUT', measurementTask('mt-late-2', day(-3)));
    const results = await Promise.all([app.app.reminders.runOnce(), app.app.reminders.runOnce()]);
    t.same(results.flatMap((r) => r.overdue), ['mt-late-2'], 'one pass marks it');
    t.equal((await read(app, 'Task/mt-late-2')).meta.versionId, '2', 'one new version');
  });
});
