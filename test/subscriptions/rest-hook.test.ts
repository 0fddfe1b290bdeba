import t from 'tap';
import type { Test } from 'tap';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { careScenario, careTeam, observation } from '../helpers/care-scenario.js';
import { put } from '../helpers/search.js';
import { assertIssue } from '../helpers/outcome.js';
import { eventNumbers, startReceiver, statusParameter, type Receiver } from '../helpers/rest-hook-receiver.js';
import type { DemoName } from '../helpers/auth.js';

const PAYLOAD_CONTENT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content';
const MAX_FAILURES = 3;

function subscription(criteria: string, endpoint: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'test',
    criteria,
    channel: {
      type: 'rest-hook',
      endpoint,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: PAYLOAD_CONTENT, valueCode: 'id-only' }] },
      header: ['Authorization: Bearer receiver-secret'],
    },
    ...extra,
  };
}

function task(owner: string, status = 'requested'): Record<string, unknown> {
  return { resourceType: 'Task', status, intent: 'order', owner: { reference: `Organization/${owner}` } };
}

async function create(app: TestApp, resource: Record<string, unknown>, as: DemoName = 'admin'): Promise<string> {
  const response = await app.request({ method: 'POST', url: `/fhir/${resource['resourceType'] as string}`, body: resource, as });
  if (response.statusCode !== 201) {
    throw new Error(`create failed: ${response.statusCode} ${response.body}`);
  }
  return response.json<{ id: string }>().id;
}

async function statusOf(app: TestApp, id: string): Promise<string> {
  return (await app.request({ method: 'GET', url: `/fhir/Subscription/${id}` })).json<{ status: string }>().status;
}

const drain = (app: TestApp): Promise<void> => app.app.subscriptions.drain(app.app.resourceEvents);

/** An active Subscription: created, handshake accepted by the receiver. */
async function activeSubscription(t: Test, app: TestApp, criteria: string, endpoint: string, as: DemoName = 'admin'): Promise<string> {
  const id = await create(app, subscription(criteria, endpoint), as);
  await drain(app);
  t.equal(await statusOf(app, id), 'active', 'active after the handshake');
  return id;
}

t.test('rest-hook subscriptions', async (t) => {
  const app = await createTestApp(t, { SUBSCRIPTION_MAX_FAILURES: String(MAX_FAILURES), SUBSCRIPTION_RETRY_MS: '600000' });
  await careScenario(app);
  const receiver: Receiver = await startReceiver(t);

  await t.test('bad input answers 422 naming the element', async (t) => {
    const good = subscription('Task?status=requested', `${receiver.url}/bad`);
    const cases: Array<[string, Record<string, unknown>, string, string]> = [
      ['channel type', { ...good, channel: { type: 'email', endpoint: 'mailto:x@example.org' } }, 'not-supported', 'Subscription.channel.type'],
      ['no endpoint', { ...good, channel: { type: 'rest-hook' } }, 'required', 'Subscription.channel.endpoint'],
      ['ftp endpoint', { ...good, channel: { type: 'rest-hook', endpoint: 'ftp://example.org/x' } }, 'not-supported', 'Subscription.channel.endpoint'],
      ['unknown type', { ...good, criteria: 'Nonsense?status=requested' }, 'not-supported', 'Subscription.criteria'],
      ['unknown parameter', { ...good, criteria: 'Task?no-such-parameter=1' }, 'not-supported', 'Subscription.criteria'],
      ['watching Subscriptions', { ...good, criteria: 'Subscription?status=active' }, 'not-supported', 'Subscription.criteria'],
      ['status active on create', { ...good, status: 'active' }, 'business-rule', 'Subscription.status'],
      [
        'unknown payload content',
        { ...good, channel: { type: 'rest-hook', endpoint: `${receiver.url}/bad`, payload: 'application/fhir+json', _payload: { extension: [{ url: PAYLOAD_CONTENT, valueCode: 'everything' }] } } },
        'not-supported',
        'Subscription.channel.payload',
      ],
    ];
    for (const [name, body, code, expression] of cases) {
      const response = await app.request({ method: 'POST', url: '/fhir/Subscription', body });
      t.test(name, async (t) => assertIssue(t, response, 422, code, expression));
    }
    await drain(app);
    t.same(receiver.on('/bad'), [], 'nothing sent for refused Subscriptions');
  });

  await t.test('handshake in the background, then active', async (t) => {
    const id = await create(app, subscription('Task?status=requested', `${receiver.url}/handshake`));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && ((await statusOf(app, id)) !== 'active' || receiver.on('/handshake').length === 0)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [handshake] = receiver.on('/handshake');
    t.ok(handshake, 'the receiver got the handshake without any drain');
    t.equal(handshake?.headers['content-type'], 'application/fhir+json');
    t.equal(handshake?.headers['authorization'], 'Bearer receiver-secret', 'channel.header sent');
    t.equal(handshake?.body.type, 'history');
    t.equal(handshake?.body.entry[0]?.resource?.resourceType, 'Parameters');
    t.equal(handshake && statusParameter(handshake.body, 'type')?.valueCode, 'handshake');
    t.match(handshake && statusParameter(handshake.body, 'subscription')?.valueReference?.reference, new RegExp(`Subscription/${id}$`));
    t.equal(await statusOf(app, id), 'active');
  });

  await t.test('a matching write notifies with an id-only payload and its event number; others do not', async (t) => {
    const id = await activeSubscription(t, app, 'Task?owner=Organization/t-nurse&status=requested', `${receiver.url}/match`);
    const first = await create(app, task('t-nurse'));
    await create(app, task('t-nurse', 'draft'));
    await create(app, task('t-rehab'));
    await drain(app);
    const second = await create(app, task('t-nurse'));
    await drain(app);
    const notes = receiver.on('/match').filter((r) => statusParameter(r.body, 'type')?.valueCode === 'event-notification');
    t.equal(notes.length, 2, 'one notification per matching write, none for the others');
    t.same(notes.map((n) => eventNumbers(n.body)), [['1'], ['2']], 'numbered since the subscription start');
    t.same(
      notes.map((n) => n.body.entry.slice(1).map((e) => e.fullUrl?.replace(/^.*\/fhir\//, ''))),
      [[`Task/${first}`], [`Task/${second}`]],
      'id-only: the resource named, its content not sent'
    );
    t.notOk(notes.some((n) => n.body.entry.slice(1).some((e) => e.resource !== undefined)), 'no resource content');
    t.equal(notes[1] && statusParameter(notes[1].body, 'events-since-subscription-start')?.valueString, '2');

    const status = await app.request({ method: 'GET', url: `/fhir/Subscription/${id}/$status` });
    t.equal(status.statusCode, 200);
    const bundle = status.json<{ type: string; entry: Array<{ resource: { parameter: Array<{ name: string; valueCode?: string; valueString?: string }> } }> }>();
    t.equal(bundle.type, 'searchset');
    const parameters = bundle.entry[0]?.resource.parameter ?? [];
    t.equal(parameters.find((p) => p.name === 'status')?.valueCode, 'active');
    t.equal(parameters.find((p) => p.name === 'events-since-subscription-start')?.valueString, '2');
  });

  await t.test('a physio is told only about patients in their care', async (t) => {
    const id = await activeSubscription(t, app, 'Observation?code=http://loinc.org|8867-4', `${receiver.url}/physio`, 'physio');
    const outside = await create(app, observation('obs-sub-kok', 'p-kok'));
    const inCare = await create(app, observation('obs-sub-vis', 'p-vis'));
    await drain(app);
    const named = receiver
      .on('/physio')
      .flatMap((r) => r.body.entry.slice(1).map((e) => e.fullUrl?.replace(/^.*\/fhir\//, '')));
    t.same(named, [`Observation/${inCare}`], 'the patient in care, not the other');
    t.notOk(named.includes(`Observation/${outside}`));

    // A user sees only their own Subscriptions: the headers may carry the receiver's credentials.
    t.equal((await app.request({ method: 'GET', url: `/fhir/Subscription/${id}`, as: 'gp' })).statusCode, 404, 'another user cannot read it');
    const listed = (await app.request({ method: 'GET', url: '/fhir/Subscription', as: 'gp' })).json<{ entry?: Array<{ resource: { id: string } }> }>();
    t.notOk((listed.entry ?? []).some((e) => e.resource.id === id), 'nor find it');
    t.equal((await app.request({ method: 'GET', url: `/fhir/Subscription/${id}`, as: 'physio' })).statusCode, 200, 'the owner can');

    // The feed carries the physio's read rights: nobody else may redirect or remove it.
    const current = (await app.request({ method: 'GET', url: `/fhir/Subscription/${id}`, as: 'physio' })).json<Record<string, unknown>>();
    const channel = { type: 'rest-hook', endpoint: `${receiver.url}/stolen` };
    for (const who of ['gp', 'admin'] as const) {
      const hijack = await app.request({ method: 'PUT', url: `/fhir/Subscription/${id}`, body: { ...current, channel }, as: who });
      assertIssue(t, hijack, 404, 'not-found');
    }
    // A delete of what the caller cannot see deletes nothing (the answer is that of an unknown id).
    await app.request({ method: 'DELETE', url: `/fhir/Subscription/${id}`, as: 'gp' });
    t.equal((await app.request({ method: 'GET', url: `/fhir/Subscription/${id}`, as: 'physio' })).statusCode, 200, 'still there after a stranger deleted');
    const own = await app.request({ method: 'PUT', url: `/fhir/Subscription/${id}`, body: { ...current, status: 'off' }, as: 'physio' });
    t.equal(own.statusCode, 200, 'the owner may change it');
    const status = await app.request({ method: 'GET', url: `/fhir/Subscription/${id}/$status`, as: 'physio' });
    t.equal(status.statusCode, 200, 'the owner may ask its status');
    await create(app, observation('obs-sub-vis-2', 'p-vis'));
    await drain(app);
    t.same(receiver.on('/stolen'), [], 'nothing sent elsewhere');
  });

  await t.test('a physio given a role on a care team since the last notification is told at once', async (t) => {
    // The matcher keeps the owner's access between batches (subscription-matcher.ts): a new
    // PractitionerRole of the physio's organisation must count from the next write on.
    const code = { coding: [{ system: 'http://loinc.org', code: '8480-6' }] };
    await activeSubscription(t, app, 'Observation?code=http://loinc.org|8480-6', `${receiver.url}/new-role`, 'physio');
    await create(app, observation('obs-role-kok', 'p-kok', { code }));
    await drain(app);
    t.same(receiver.on('/new-role').filter((r) => statusParameter(r.body, 'type')?.valueCode === 'event-notification'), [], 'not in care: nothing');
    await put(app, { resourceType: 'Patient', id: 'p-role', name: [{ family: 'Rolsma' }], managingOrganization: { reference: 'Organization/t-gp' } });
    await put(app, {
      resourceType: 'PractitionerRole',
      id: 't-physio-role-2',
      practitioner: { reference: 'Practitioner/t-physio-pract' },
      organization: { reference: 'Organization/t-physio' },
    });
    await put(app, { ...careTeam('ct-role', 'p-role', ['gp']), participant: [{ member: { reference: 'PractitionerRole/t-physio-role-2' } }] });
    await drain(app);
    const inCare = await create(app, observation('obs-role-new', 'p-role', { code }));
    await drain(app);
    const named = receiver.on('/new-role').flatMap((r) => r.body.entry.slice(1).map((e) => e.fullUrl?.replace(/^.*\/fhir\//, '')));
    t.same(named, [`Observation/${inCare}`], 'the patient whose care team holds the new role');
  });

  await t.test('a receiver answering 500 is retried, then the status is error', async (t) => {
    const id = await activeSubscription(t, app, 'Task?owner=Organization/t-gp', `${receiver.url}/failing`);
    receiver.answer('/failing', 500);
    await create(app, task('t-gp'));
    for (let i = 0; i < MAX_FAILURES + 2; i += 1) {
      await drain(app);
    }
    const attempts = receiver.on('/failing').filter((r) => statusParameter(r.body, 'type')?.valueCode === 'event-notification');
    t.equal(attempts.length, MAX_FAILURES, 'tried SUBSCRIPTION_MAX_FAILURES times, then no more');
    t.same(attempts.map((a) => eventNumbers(a.body)), Array.from({ length: MAX_FAILURES }, () => ['1']), 'the same event each time');
    t.equal(await statusOf(app, id), 'error');
  });

  await t.test('after the receiver was down, $events returns what it missed; off stops', async (t) => {
    const down = await startReceiver(t);
    const id = await activeSubscription(t, app, 'Task?owner=Organization/t-rehab&status=in-progress', `${down.url}/down`);
    await down.close();
    const missed = await create(app, task('t-rehab', 'in-progress'));
    await drain(app);
    t.equal(await statusOf(app, id), 'active', 'one failure does not end it');
    const events = await app.request({ method: 'GET', url: `/fhir/Subscription/${id}/$events?eventsSinceNumber=1&eventsUntilNumber=1` });
    t.equal(events.statusCode, 200);
    const bundle = events.json<{ type: string; entry: Array<{ fullUrl?: string }> }>();
    t.equal(bundle.type, 'history');
    t.same(bundle.entry.slice(1).map((e) => e.fullUrl?.replace(/^.*\/fhir\//, '')), [`Task/${missed}`]);
    const none = await app.request({ method: 'GET', url: `/fhir/Subscription/${id}/$events?eventsSinceNumber=2` });
    t.equal(none.json<{ entry: unknown[] }>().entry.length, 1, 'only the status for a range without events');
    const bad = await app.request({ method: 'GET', url: `/fhir/Subscription/${id}/$events?eventsSinceNumber=first` });
    assertIssue(t, bad, 400, 'invalid', 'eventsSinceNumber');
    const stranger = await app.request({ method: 'GET', url: `/fhir/Subscription/${id}/$status`, as: 'gp' });
    t.equal(stranger.statusCode, 404, 'not the owner: not found');

    const current = (await app.request({ method: 'GET', url: `/fhir/Subscription/${id}` })).json<Record<string, unknown>>();
    const off = await app.request({ method: 'PUT', url: `/fhir/Subscription/${id}`, body: { ...current, status: 'off' } });
    t.equal(off.statusCode, 200);
    const activeAgain = await app.request({ method: 'PUT', url: `/fhir/Subscription/${id}`, body: { ...current, status: 'active' } });
    assertIssue(t, activeAgain, 422, 'business-rule', 'Subscription.status');
    await create(app, task('t-rehab', 'in-progress'));
    await drain(app);
    const status = (await app.request({ method: 'GET', url: `/fhir/Subscription/${id}/$status` })).json<{
      entry: Array<{ resource: { parameter: Array<{ name: string; valueCode?: string; valueString?: string }> } }>;
    }>();
    const parameters = status.entry[0]?.resource.parameter ?? [];
    t.equal(parameters.find((p) => p.name === 'status')?.valueCode, 'off');
    t.equal(parameters.find((p) => p.name === 'events-since-subscription-start')?.valueString, '1', 'no events counted while off');
  });
});
