import t from 'tap';
import type { Test } from 'tap';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { principalFor, type DemoName } from '../helpers/auth.js';
import { careScenario, observation, ROLES } from '../helpers/care-scenario.js';
import { assertIssue } from '../helpers/outcome.js';
import { eventNumbers, startReceiver, statusParameter, type Notification, type Receiver } from '../helpers/rest-hook-receiver.js';
import { injector } from '../helpers/app.js';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';
const TOPIC = 'http://schakel.nl/fhir/SubscriptionTopic/';
const FILTER = `${BACKPORT}backport-filter-criteria`;
// The reminder pass's code system (domain/reminders/business-status.ts) and the measurement input type.
const BUSINESS_STATUS = 'http://schakel.nl/fhir/CodeSystem/task-business-status';
const PAIN_OUTCOMES = 'http://schakel.nl/fhir/CodeSystem/pain-outcomes';
const FILTER_EXPRESSION = `Subscription.criteria.extension('${FILTER}')`;

interface TopicOptions {
  readonly filters?: readonly string[];
  readonly content?: 'empty' | 'id-only' | 'full-resource';
  readonly channelExtensions?: ReadonlyArray<Record<string, unknown>>;
}

function topicSubscription(topic: string, endpoint: string, options: TopicOptions = {}): Record<string, unknown> {
  return {
    resourceType: 'Subscription',
    meta: { profile: [`${BACKPORT}backport-subscription`] },
    status: 'requested',
    reason: 'inbox',
    criteria: `${TOPIC}${topic}`,
    ...(options.filters !== undefined ? { _criteria: { extension: options.filters.map((valueString) => ({ url: FILTER, valueString })) } } : {}),
    channel: {
      ...(options.channelExtensions !== undefined ? { extension: options.channelExtensions } : {}),
      type: 'rest-hook',
      endpoint,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${BACKPORT}backport-payload-content`, valueCode: options.content ?? 'id-only' }] },
    },
  };
}

type Request = TestApp['request'];

async function create(request: Request, resource: Record<string, unknown>, as: DemoName = 'admin'): Promise<string> {
  const response = await request({ method: 'POST', url: `/fhir/${resource['resourceType'] as string}`, body: resource, as });
  if (response.statusCode !== 201) {
    throw new Error(`create failed: ${response.statusCode} ${response.body}`);
  }
  return response.json<{ id: string }>().id;
}

async function update(request: Request, type: string, id: string, change: Record<string, unknown>): Promise<void> {
  const current = (await request({ method: 'GET', url: `/fhir/${type}/${id}` })).json<Record<string, unknown>>();
  const response = await request({ method: 'PUT', url: `/fhir/${type}/${id}`, body: { ...current, ...change } });
  if (response.statusCode !== 200) {
    throw new Error(`update failed: ${response.statusCode} ${response.body}`);
  }
}

const drain = (app: TestApp): Promise<void> => app.app.subscriptions.drain(app.app.resourceEvents);

async function subscribe(t: Test, app: TestApp, body: Record<string, unknown>, as: DemoName = 'admin'): Promise<string> {
  const id = await create(app.request, body, as);
  await drain(app);
  const status = (await app.request({ method: 'GET', url: `/fhir/Subscription/${id}`, as })).json<{ status: string }>().status;
  t.equal(status, 'active', 'active after the handshake');
  return id;
}

function notifications(receiver: Receiver, path: string, type = 'event-notification'): Notification[] {
  return receiver
    .on(path)
    .map((r) => r.body)
    .filter((b) => statusParameter(b, 'type')?.valueCode === type);
}

/** `Type/id` and request method of every event entry of the notifications on `path`. */
function named(receiver: Receiver, path: string): string[] {
  return notifications(receiver, path).flatMap((b) => b.entry.slice(1).map((e) => `${e.request?.method ?? ''} ${e.fullUrl?.replace(/^.*\/fhir\//, '') ?? ''}`));
}

function referralTask(referral: string, owner: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    focus: { reference: `ServiceRequest/${referral}` },
    for: { reference: 'Patient/p-vis' },
    requester: { reference: `PractitionerRole/${ROLES.gp}` },
    owner: { reference: `Organization/${owner}` },
    ...extra,
  };
}

async function serviceRequest(request: Request): Promise<string> {
  return create(request, { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/p-vis' }, code: { text: 'Fysiotherapie' } });
}

t.test('subscription topics', async (t) => {
  const app = await createTestApp(t, { SUBSCRIPTION_RETRY_MS: '600000' });
  await careScenario(app);
  const receiver = await startReceiver(t);

  await t.test('the shipped topics are Basic resources, found by canonical URL and listed in the CapabilityStatement', async (t) => {
    const basic = await app.request({ method: 'GET', url: '/fhir/Basic/topic-referral-task-owner' });
    t.equal(basic.statusCode, 200);
    const topic = basic.json<{ code: { coding: Array<{ system: string; code: string }> }; extension: Array<{ url: string; valueUri?: string }> }>();
    t.same(topic.code.coding[0], { system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' });
    t.equal(topic.extension.find((e) => e.url.endsWith('extension-SubscriptionTopic.url'))?.valueUri, `${TOPIC}referral-task-owner`);
    t.ok(topic.extension.some((e) => e.url.endsWith('extension-SubscriptionTopic.canFilterBy')), 'canFilterBy');
    t.ok(topic.extension.some((e) => e.url.endsWith('extension-SubscriptionTopic.resourceTrigger')), 'resourceTrigger');

    const byUrl = await app.request({ method: 'GET', url: `/fhir/Basic?identifier=${encodeURIComponent(`${TOPIC}referral-feedback`)}` });
    t.same(byUrl.json<{ entry: Array<{ resource: { id: string } }> }>().entry.map((e) => e.resource.id), ['topic-referral-feedback']);
    const all = await app.request({ method: 'GET', url: `/fhir/Basic?code=${encodeURIComponent('http://hl7.org/fhir/fhir-types|SubscriptionTopic')}&_count=50` });
    t.equal(all.json<{ entry: unknown[] }>().entry.length, 7, 'seven topics');

    const metadata = (await app.request({ method: 'GET', url: '/fhir/metadata' })).json<{
      rest: Array<{ resource: Array<{ type: string; extension?: Array<{ url: string; valueCanonical?: string }> }> }>;
    }>();
    const entry = metadata.rest[0]?.resource.find((r) => r.type === 'Subscription');
    const listed = (entry?.extension ?? []).filter((e) => e.url === `${BACKPORT}capabilitystatement-subscriptiontopic-canonical`).map((e) => e.valueCanonical);
    t.equal(listed.length, 7);
    t.ok(listed.includes(`${TOPIC}logbook-entry`));

    const overwrite = await app.request({ method: 'PUT', url: '/fhir/Basic/topic-referral-task-owner', body: { ...topic, extension: topic.extension.slice(1) } });
    t.equal(overwrite.statusCode, 403, 'the server\'s topics are read-only');
  });

  await t.test('bad input answers 422 naming the element', async (t) => {
    const endpoint = `${receiver.url}/bad`;
    const cases: Array<[string, Record<string, unknown>, string, string]> = [
      ['unknown topic', topicSubscription('no-such-topic', endpoint), 'not-supported', 'Subscription.criteria'],
      ['filter the topic does not allow', topicSubscription('referral-task-owner', endpoint, { filters: ['Task?description=x'] }), 'not-supported', FILTER_EXPRESSION],
      ['filter on a type the topic lacks', topicSubscription('referral-task-owner', endpoint, { filters: ['Observation?patient=Patient/p-vis'] }), 'not-supported', FILTER_EXPRESSION],
      ['filter without a topic', { ...topicSubscription('referral-task-owner', endpoint, { filters: ['Task?owner=Organization/t-gp'] }), criteria: 'Task?status=requested' }, 'not-supported', FILTER_EXPRESSION],
      [
        'heartbeat period not a number',
        topicSubscription('referral-task-owner', endpoint, { channelExtensions: [{ url: `${BACKPORT}backport-heartbeat-period`, valueString: 'often' }] }),
        'value',
        `Subscription.channel.extension('${BACKPORT}backport-heartbeat-period')`,
      ],
    ];
    for (const [name, body, code, expression] of cases) {
      const response = await app.request({ method: 'POST', url: '/fhir/Subscription', body });
      t.test(name, async (t) => assertIssue(t, response, 422, code, expression));
    }
    // A user who may search Tasks but not read them gets names, not content.
    const searchOnly = injector(app.app);
    const narrow = principalFor('physio', { scope: 'user/Task.s user/Subscription.cruds' });
    const token = (await app.app.auth.tokens.issue(narrow)).token;
    const beyond = await searchOnly({
      method: 'POST',
      url: '/fhir/Subscription',
      body: topicSubscription('referral-task-owner', endpoint, { content: 'full-resource' }),
      headers: { authorization: `Bearer ${token}` },
    });
    assertIssue(t, beyond, 422, 'forbidden', 'Subscription.channel.payload');
    await drain(app);
    t.same(receiver.on('/bad'), [], 'nothing sent for refused Subscriptions');
  });

  await t.test('topic 1: a referral for my organisation, created, changed and deleted', async (t) => {
    await subscribe(t, app, topicSubscription('referral-task-owner', `${receiver.url}/owner`, { filters: ['Task?owner=Organization/t-nurse'] }));
    const referral = await serviceRequest(app.request);
    const mine = await create(app.request, referralTask(referral, 't-nurse'));
    await create(app.request, referralTask(await serviceRequest(app.request), 't-rehab'));
    await create(app.request, { resourceType: 'Task', status: 'requested', intent: 'order', owner: { reference: 'Organization/t-nurse' } });
    await update(app.request, 'Task', mine, { status: 'received' });
    await drain(app);
    t.same(named(receiver, '/owner'), [`POST Task/${mine}`, `PUT Task/${mine}`], 'the referral at t-nurse, not the other organisation\'s nor a non-referral Task');
    const deleted = await app.request({ method: 'DELETE', url: `/fhir/Task/${mine}` });
    t.equal(deleted.statusCode, 200);
    await drain(app);
    const all = named(receiver, '/owner');
    t.equal(all.at(-1), `DELETE Task/${mine}`, 'the deletion, id-only with request method DELETE');
    t.same(eventNumbers(notifications(receiver, '/owner').at(-1) as Notification), ['3']);
    const last = notifications(receiver, '/owner').at(-1);
    t.equal(last && statusParameter(last, 'topic')?.valueCanonical, `${TOPIC}referral-task-owner`, 'the status names the topic');
  });

  await t.test('topic 2: a referral I requested changed status', async (t) => {
    await subscribe(t, app, topicSubscription('referral-task-status', `${receiver.url}/status`, { filters: [`Task?requester=PractitionerRole/${ROLES.gp}`] }));
    const mine = await create(app.request, referralTask(await serviceRequest(app.request), 't-physio'));
    const others = await create(app.request, referralTask(await serviceRequest(app.request), 't-physio', { requester: { reference: `PractitionerRole/${ROLES.nurse}` } }));
    await update(app.request, 'Task', mine, { lastModified: '2026-01-02T10:00:00Z' });
    await update(app.request, 'Task', others, { status: 'received' });
    await update(app.request, 'Task', mine, { status: 'received' });
    await drain(app);
    t.same(named(receiver, '/status'), [`PUT Task/${mine}`], 'only the status change of my referral');
  });

  await t.test('topic 3: feedback on my referral, full-resource', async (t) => {
    await subscribe(t, app, topicSubscription('referral-feedback', `${receiver.url}/feedback`, { filters: [`Communication?recipient=PractitionerRole/${ROLES.gp}`], content: 'full-resource' }));
    const referral = await serviceRequest(app.request);
    const feedback = (recipient: string, basedOn = true): Record<string, unknown> => ({
      resourceType: 'Communication',
      status: 'completed',
      subject: { reference: 'Patient/p-vis' },
      ...(basedOn ? { basedOn: [{ reference: `ServiceRequest/${referral}` }] } : {}),
      recipient: [{ reference: `PractitionerRole/${recipient}` }],
      payload: [{ contentString: 'Behandeling afgerond' }],
    });
    const mine = await create(app.request, feedback(ROLES.gp));
    await create(app.request, feedback(ROLES.nurse));
    await create(app.request, feedback(ROLES.gp, false));
    await drain(app);
    const [note, ...more] = notifications(receiver, '/feedback');
    t.same(more, [], 'one notification');
    const entry = note?.entry[1] as { resource?: { resourceType: string; id: string; payload?: unknown[] }; fullUrl?: string } | undefined;
    t.equal(entry?.resource?.resourceType, 'Communication', 'full-resource: the feedback itself');
    t.equal(entry?.resource?.id, mine);
    t.ok(entry?.resource?.payload, 'with its content');
  });

  await t.test('topic 4: logbook entries, told only about patients in my care', async (t) => {
    const id = await subscribe(t, app, topicSubscription('logbook-entry', `${receiver.url}/logbook`), 'physio');
    // The physio is not on Kok's care team: a feed for Kok alone stays silent.
    await subscribe(t, app, topicSubscription('logbook-entry', `${receiver.url}/outsider`, { filters: ['Observation?patient=Patient/p-kok'], content: 'full-resource' }), 'physio');
    const visser = await create(app.request, observation('obs-topic-vis', 'p-vis'));
    await create(app.request, observation('obs-topic-kok', 'p-kok'));
    await create(app.request, { resourceType: 'Procedure', status: 'completed', subject: { reference: 'Patient/p-kok' } });
    await drain(app);
    t.same(named(receiver, '/logbook'), [`POST Observation/${visser}`], 'Visser (physio on the care team), nothing of Kok');
    const removed = await app.request({ method: 'DELETE', url: `/fhir/Observation/${visser}` });
    t.equal(removed.statusCode, 200);
    const kokObservation = await create(app.request, observation('obs-topic-kok-2', 'p-kok'));
    await app.request({ method: 'DELETE', url: `/fhir/Observation/${kokObservation}` });
    await drain(app);
    t.same(named(receiver, '/logbook').slice(1), [`DELETE Observation/${visser}`], 'the deletion in my care, not Kok\'s');
    t.same(notifications(receiver, '/outsider'), [], 'a physio outside Kok\'s care team is told nothing about Kok');

    // Each notification naming resources is audited as the owner's read of them.
    const audit = await app.request({ method: 'GET', url: `/fhir/AuditEvent?entity=Observation/${visser}&_count=50`, as: 'auditor' });
    t.equal(audit.statusCode, 200);
    const events = audit.json<{ entry?: Array<{ resource: { action: string; agent?: Array<{ who?: { identifier?: { value?: string } } }> } }> }>().entry ?? [];
    const reads = events.filter((e) => e.resource.action === 'R');
    t.ok(reads.length >= 1, 'a read record for the delivered notification');
    t.ok(JSON.stringify(reads).includes('999990002'), 'naming the physio who owns the Subscription');
    t.ok(id);
  });

  await t.test('topic 5: a questionnaire completed for a measurement Task', async (t) => {
    await subscribe(t, app, topicSubscription('measurement-completed', `${receiver.url}/completed`, { filters: ['Task?owner=Organization/t-physio'] }));
    const response = await create(app.request, { resourceType: 'QuestionnaireResponse', status: 'completed', subject: { reference: 'Patient/p-vis' } });
    const task = await create(app.request, { resourceType: 'Task', status: 'in-progress', intent: 'plan', for: { reference: 'Patient/p-vis' }, owner: { reference: 'Organization/t-physio' } });
    const other = await create(app.request, { resourceType: 'Task', status: 'in-progress', intent: 'plan', for: { reference: 'Patient/p-vis' }, owner: { reference: 'Organization/t-physio' } });
    await update(app.request, 'Task', other, { status: 'completed' });
    await update(app.request, 'Task', task, { status: 'completed', output: [{ type: { text: 'antwoorden' }, valueReference: { reference: `QuestionnaireResponse/${response}` } }] });
    await drain(app);
    t.same(named(receiver, '/completed'), [`PUT Task/${task}`], 'the Task completed with a QuestionnaireResponse, not the one without');
  });

  await t.test('topic 6: a measurement became overdue, in the reminder pass\'s code system only', async (t) => {
    await subscribe(t, app, topicSubscription('measurement-due', `${receiver.url}/due`, { filters: ['Task?owner=Organization/t-physio'] }));
    const task = await create(app.request, { resourceType: 'Task', status: 'requested', intent: 'plan', for: { reference: 'Patient/p-vis' }, owner: { reference: 'Organization/t-physio' } });
    const other = await create(app.request, { resourceType: 'Task', status: 'requested', intent: 'plan', for: { reference: 'Patient/p-vis' }, owner: { reference: 'Organization/t-physio' } });
    const status = (system: string, code: string): Record<string, unknown> => ({ businessStatus: { coding: [{ system, code }] } });
    await update(app.request, 'Task', task, status(BUSINESS_STATUS, 'feedback-overdue'));
    await update(app.request, 'Task', task, status(BUSINESS_STATUS, 'overdue'));
    await update(app.request, 'Task', task, { ...status(BUSINESS_STATUS, 'overdue'), description: 'still overdue' });
    await update(app.request, 'Task', other, status('urn:test:other-status', 'overdue'));
    await drain(app);
    t.same(named(receiver, '/due'), [`PUT Task/${task}`], 'the change to overdue; not feedback-overdue, not the update that left it overdue, not a same-named code of another system');
  });

  await t.test('topic 6: the reminder pass marking a measurement Task overdue notifies', async (t) => {
    await subscribe(t, app, topicSubscription('measurement-due', `${receiver.url}/reminder`, { filters: ['Task?owner=Organization/t-physio'] }));
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    // A measurement Task as PlanDefinition/$apply makes it (domain/reminders/overdue-measurements.ts), its window passed.
    const late = await create(app.request, {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      for: { reference: 'Patient/p-vis' },
      owner: { reference: 'Organization/t-physio' },
      restriction: { period: { start: '2026-01-01', end: yesterday } },
      input: [{ type: { coding: [{ system: PAIN_OUTCOMES, code: 'questionnaire' }] }, valueCanonical: 'http://schakel.nl/fhir/Questionnaire/nprs|1.0.0' }],
    });
    await drain(app);
    t.same(named(receiver, '/reminder'), [], 'nothing before the pass');
    const pass = await app.app.reminders.runOnce();
    t.ok(pass.overdue.includes(late), 'the pass marks the Task overdue');
    await drain(app);
    t.same(named(receiver, '/reminder'), [`PUT Task/${late}`], 'the mark reaches the subscriber');
    const [notification] = notifications(receiver, '/reminder');
    t.equal(notification && statusParameter(notification, 'topic')?.valueCanonical, `${TOPIC}measurement-due`, 'naming the topic');
  });

  await t.test('topic 7: a care-bridge limit warning on my patient', async (t) => {
    await subscribe(t, app, topicSubscription('care-bridge-limit', `${receiver.url}/limit`, { filters: ['DetectedIssue?patient=Patient/p-vis'] }));
    const warning = await create(app.request, { resourceType: 'DetectedIssue', status: 'final', patient: { reference: 'Patient/p-vis' }, detail: 'over limit' });
    await create(app.request, { resourceType: 'DetectedIssue', status: 'final', patient: { reference: 'Patient/p-kok' }, detail: 'over limit' });
    await drain(app);
    t.same(named(receiver, '/limit'), [`POST DetectedIssue/${warning}`]);
  });

  await t.test('plain R4 criteria Subscriptions are told about deletions too', async (t) => {
    const body = { ...topicSubscription('care-bridge-limit', `${receiver.url}/r4-delete`), criteria: 'DetectedIssue?code=urn:test|gone' };
    await subscribe(t, app, body);
    const issue = (code: string): Record<string, unknown> => ({ resourceType: 'DetectedIssue', status: 'final', code: { coding: [{ system: 'urn:test', code }] } });
    const matching = await create(app.request, issue('gone'));
    const other = await create(app.request, issue('kept'));
    // R4 criteria match the resource as it is when the event is handled (subscription-matcher.ts).
    await drain(app);
    for (const id of [matching, other]) {
      t.equal((await app.request({ method: 'DELETE', url: `/fhir/DetectedIssue/${id}` })).statusCode, 200);
    }
    await drain(app);
    t.same(named(receiver, '/r4-delete'), [`POST DetectedIssue/${matching}`, `DELETE DetectedIssue/${matching}`], 'the matching one created and deleted; the other not');
  });

  await t.test('max-count splits events over notifications; a heartbeat when nothing was sent', async (t) => {
    await subscribe(
      t,
      app,
      topicSubscription('care-bridge-limit', `${receiver.url}/batch`, {
        filters: ['DetectedIssue?patient=Patient/p-kok'],
        channelExtensions: [
          { url: `${BACKPORT}backport-max-count`, valuePositiveInt: 1 },
          { url: `${BACKPORT}backport-heartbeat-period`, valueUnsignedInt: 1 },
        ],
      })
    );
    for (let i = 0; i < 3; i += 1) {
      await create(app.request, { resourceType: 'DetectedIssue', status: 'final', patient: { reference: 'Patient/p-kok' } });
    }
    await drain(app);
    t.same(notifications(receiver, '/batch').map((n) => eventNumbers(n)), [['1'], ['2'], ['3']], 'one event per notification');
    t.same(notifications(receiver, '/batch', 'heartbeat'), [], 'no heartbeat while events flow');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await drain(app);
    const [heartbeat] = notifications(receiver, '/batch', 'heartbeat');
    t.ok(heartbeat, 'a heartbeat after a quiet period');
    t.equal(heartbeat?.entry.length, 1, 'only the status');
    t.equal(heartbeat && statusParameter(heartbeat, 'events-since-subscription-start')?.valueString, '3');
  });
});
