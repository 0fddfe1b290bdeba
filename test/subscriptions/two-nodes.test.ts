/**
 * Two app instances on one PostgreSQL database, each with its own pool, dispatcher and
 * subscription engine, as two nodes behind a load balancer: every event reaches the receiver
 * exactly once between them, and a node that stops while holding a Subscription's lease loses
 * nothing (the lease runs out and the other node sends).
 */
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { createTestApp, engine, testConfig, type TestApp } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';
import { eventNumbers, startReceiver, statusParameter, type Receiver } from '../helpers/rest-hook-receiver.js';

const EVENTS = 1000;
const PER_BUNDLE = 100;
// Each node looks for the other's events and for leases that ran out every 500 ms.
const SETTINGS = { SUBSCRIPTION_RETRY_MS: '50', EVENT_POLL_MS: '500' };

function subscription(endpoint: string, code: string): Record<string, unknown> {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'two nodes',
    criteria: `DetectedIssue?code=${code}`,
    channel: {
      type: 'rest-hook',
      endpoint,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content', valueCode: 'id-only' }] },
    },
  };
}

async function createIssues(app: TestApp, code: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += PER_BUNDLE) {
    const entry = Array.from({ length: Math.min(PER_BUNDLE, count - start) }, () => ({
      resource: { resourceType: 'DetectedIssue', status: 'final', code: { coding: [{ system: 'urn:test', code }] } },
      request: { method: 'POST', url: 'DetectedIssue' },
    }));
    const response = await app.request({ method: 'POST', url: '/fhir', body: { resourceType: 'Bundle', type: 'transaction', entry } });
    if (response.statusCode !== 200) {
      throw new Error(`transaction failed: ${response.statusCode}`);
    }
  }
}

/** Event numbers the receiver got on `path`, in arrival order (duplicates kept). */
function received(receiver: Receiver, path: string): number[] {
  return receiver
    .on(path)
    .filter((r) => statusParameter(r.body, 'type')?.valueCode === 'event-notification')
    .flatMap((r) => eventNumbers(r.body).map(Number));
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function createSubscription(app: TestApp, body: Record<string, unknown>): Promise<string> {
  const response = await app.request({ method: 'POST', url: '/fhir/Subscription', body });
  if (response.statusCode !== 201) {
    throw new Error(`create failed: ${response.statusCode}`);
  }
  return response.json<{ id: string }>().id;
}

t.test('two nodes on one database', { skip: engine === 'postgres' ? false : 'two nodes share a database on PostgreSQL only' }, async (t) => {
  const a = await createTestApp(t, SETTINGS);
  const secondDb = await a.database.reopen();
  const b = await buildApp({ config: testConfig(SETTINGS), db: secondDb, closeDatabase: false, auth: await testAuthSetup() });
  t.teardown(() => b.close());
  const receiver = await startReceiver(t);

  await t.test(`${EVENTS} events reach the receiver exactly once between the nodes`, async (t) => {
    const id = await createSubscription(a, subscription(`${receiver.url}/many`, 'many'));
    await until(() => receiver.on('/many').length > 0, 10_000);
    const started = Date.now();
    await createIssues(a, 'many', EVENTS);
    await until(() => new Set(received(receiver, '/many')).size >= EVENTS, 60_000);
    // Give a duplicate time to arrive, if either node were to send one.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const numbers = received(receiver, '/many');
    t.comment(`${numbers.length} deliveries, ${new Set(numbers).size} distinct`);
    t.equal(receiver.on('/many').filter((r) => statusParameter(r.body, 'type')?.valueCode === 'handshake').length, 1, 'one handshake');
    t.equal(numbers.length, EVENTS, 'as many deliveries as events');
    t.equal(new Set(numbers).size, EVENTS, 'every event arrived');
    t.same(numbers, Array.from({ length: EVENTS }, (_, i) => i + 1), 'in order');
    t.comment(`${EVENTS} events written and delivered in ${Date.now() - started} ms`);
    const status = await a.request({ method: 'GET', url: `/fhir/Subscription/${id}/$status` });
    t.equal(status.json<{ entry: Array<{ resource: { parameter: Array<{ name: string; valueString?: string }> } }> }>().entry[0]?.resource.parameter.find((p) => p.name === 'events-since-subscription-start')?.valueString, String(EVENTS));
  });

  await t.test('a node that stopped holding the lease loses no event', async (t) => {
    const id = await createSubscription(a, subscription(`${receiver.url}/crash`, 'crash'));
    await until(() => receiver.on('/crash').length > 0, 10_000);
    // The state a node leaves when it stops between taking the lease and the receiver's answer:
    // the lease held, nothing marked delivered. Taken as a node takes it, once the node that sent
    // the handshake has given it back (it may still be recording the handshake when it arrives).
    const deadline = Date.now() + 10_000;
    let taken = false;
    while (!taken && Date.now() < deadline) {
      taken =
        (
          await a.database.db.query(
            `UPDATE subscription_delivery SET lease_until = now() + interval '1 second'
              WHERE subscription_id = $1 AND lease_until IS NULL RETURNING subscription_id`,
            [id]
          )
        ).length === 1;
      if (!taken) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
    t.ok(taken, 'the lease is taken as a stopping node would hold it');
    const leasedAt = Date.now();
    await createIssues(a, 'crash', 30);
    await a.app.resourceEvents.drain();
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (Date.now() - leasedAt < 900) {
      t.same(received(receiver, '/crash'), [], 'nothing sent while the stopped node holds the lease');
    }
    await until(() => new Set(received(receiver, '/crash')).size >= 30, 20_000);
    const numbers = received(receiver, '/crash');
    t.same(numbers, Array.from({ length: 30 }, (_, i) => i + 1), 'every event, once, in order, after the lease ran out');
  });
});
