import t from 'tap';
import { buildApp } from '../../src/app.js';
import { EventDispatcher } from '../../src/events/dispatcher.js';
import type { EventConsumer, ResourceEvent } from '../../src/events/resource-event.js';
import { createTestApp, engine, injector, testConfig } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';
import { consumerPosition, contiguousFrom, eventHead } from '../helpers/events.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A consumer that records what it was handed; `fail` decides per call whether it throws instead. */
function recorder(name: string, fail: (call: number, events: readonly ResourceEvent[]) => boolean = () => false) {
  const batches: ResourceEvent[][] = [];
  let calls = 0;
  const consumer: EventConsumer = {
    name,
    async handle(events) {
      calls += 1;
      batches.push([...events]);
      if (fail(calls, events)) {
        throw new Error('consumer down');
      }
    },
  };
  return {
    consumer,
    batches,
    get calls() {
      return calls;
    },
    seqs: () => batches.flat().map((e) => e.seq),
  };
}

const organization = (name: string) => ({ resourceType: 'Organization', name });

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!condition() && Date.now() < end) {
    await sleep(20);
  }
  return condition();
}

// EVENT_POLL_MS=0: what is delivered without drain() was woken by the commit, not by polling.
const NO_POLL = { EVENT_POLL_MS: '0' };

t.test(`the dispatcher delivers events in order, woken by the commit, on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t, NO_POLL);
  const seen = recorder('in-order');
  await app.resourceEvents.register(seen.consumer);
  const start = await eventHead(app);
  t.equal(await consumerPosition(app, 'in-order'), start, 'a new consumer starts at the head');

  const ids: string[] = [];
  for (const name of ['Een', 'Twee', 'Drie']) {
    const res = await request({ method: 'POST', url: '/fhir/Organization', body: organization(name) });
    t.equal(res.statusCode, 201);
    ids.push(res.json().id as string);
  }
  const head = await eventHead(app);
  t.ok(await until(() => seen.seqs().at(-1) === head), 'delivered after commit without drain or poll');
  t.ok(contiguousFrom(start, seen.seqs()), 'every event once, in seq order');
  t.same(
    seen.batches.flat().filter((e) => e.resourceType === 'Organization').map((e) => e.id),
    ids,
    'in commit order'
  );
  const first = seen.batches.flat()[0];
  t.match(first, { interaction: 'create', versionId: 1, patients: [] });
  await app.resourceEvents.drain();
  t.equal(await consumerPosition(app, 'in-order'), head, 'position recorded');
});

t.test(`a throwing consumer gets the same events again and its position stays, on ${engine}`, async (t) => {
  const { app, database, request } = await createTestApp(t, NO_POLL);
  // A dispatcher that is never started runs only when drained: each attempt is counted here.
  const dispatcher = new EventDispatcher(database.db, { pollMs: 0 });
  t.teardown(() => dispatcher.stop());
  const flaky = recorder('flaky', (call) => call <= 2);
  const steady = recorder('steady');
  await dispatcher.register(flaky.consumer);
  await dispatcher.register(steady.consumer);
  const start = await eventHead(app);
  t.equal((await request({ method: 'POST', url: '/fhir/Organization', body: organization('Wankel') })).statusCode, 201);
  const head = await eventHead(app);

  await dispatcher.drain();
  t.equal(flaky.calls, 1);
  t.equal(await consumerPosition(app, 'flaky'), start, 'not advanced after a throw');
  t.equal(await consumerPosition(app, 'steady'), head, 'the other consumer is not held up');
  await dispatcher.drain();
  t.equal(flaky.calls, 2);
  t.equal(await consumerPosition(app, 'flaky'), start, 'still not advanced');
  await dispatcher.drain();
  t.equal(flaky.calls, 3, 'tried until it succeeded');
  t.equal(await consumerPosition(app, 'flaky'), head, 'advanced once handled');
  await dispatcher.drain();
  t.equal(flaky.calls, 3, 'and not handed the events again');
  for (const batch of flaky.batches) {
    t.same(batch.map((e) => e.seq), flaky.batches[0]?.map((e) => e.seq), 'the same batch each time');
  }
  t.ok(contiguousFrom(start, flaky.batches[0]?.map((e) => e.seq) ?? []));
  t.equal(flaky.batches[0]?.length, head - start);
});

t.test(`a failed consumer is retried with backoff without a further commit, on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t, NO_POLL);
  const once = recorder('fails-once', (call) => call === 1);
  await app.resourceEvents.register(once.consumer);
  const start = await eventHead(app);
  t.equal((await request({ method: 'POST', url: '/fhir/Organization', body: organization('Later') })).statusCode, 201);
  const head = await eventHead(app);
  t.ok(await until(() => once.calls >= 2), 'retried by its backoff timer');
  t.ok(
    await until(() => once.calls === 2),
    'then no more calls'
  );
  let position = await consumerPosition(app, 'fails-once');
  for (let i = 0; i < 50 && position !== head; i++) {
    await sleep(20);
    position = await consumerPosition(app, 'fails-once');
  }
  t.equal(position, head);
  t.same(once.batches[1]?.map((e) => e.seq), once.batches[0]?.map((e) => e.seq), 'the same events again');
  t.ok(contiguousFrom(start, once.batches[1]?.map((e) => e.seq) ?? []));
});

t.test(`a consumer with an interval gets the events of that interval in one batch, on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t, NO_POLL);
  const gathered = recorder('gathering');
  // Long enough that the three writes below, even on a slow machine, fall within one interval.
  await app.resourceEvents.register({ ...gathered.consumer, intervalMs: 6000 });
  const start = await eventHead(app);
  t.equal((await request({ method: 'POST', url: '/fhir/Organization', body: organization('Eerste') })).statusCode, 201);
  const first = await eventHead(app);
  t.ok(await until(() => gathered.seqs().at(-1) === first), 'the first event after a quiet spell is handed over without waiting for a poll');
  for (const name of ['Tweede', 'Derde', 'Vierde']) {
    t.equal((await request({ method: 'POST', url: '/fhir/Organization', body: organization(name) })).statusCode, 201);
    // Time for a pass of its own: without the interval each write would be a batch.
    await sleep(200);
  }
  const head = await eventHead(app);
  t.ok(await until(() => gathered.seqs().at(-1) === head), 'the rest once the interval is over');
  t.equal(gathered.batches.length, 2, 'in two batches, not one per commit');
  t.same(gathered.batches[1]?.filter((e) => e.resourceType === 'Organization').length, 3, 'the second holds the three writes made meanwhile');
  t.ok(contiguousFrom(start, gathered.seqs()), 'every event once, in seq order');
});

t.test(`after a restart a consumer resumes from its position and misses nothing, on ${engine}`, async (t) => {
  const first = await createTestApp(t, NO_POLL);
  const { app, database } = first;
  const start = await eventHead(app);
  // The first process handles its events but dies before recording that (a throw stands in for
  // the crash: the position is not advanced), then commits more writes that nobody dispatches.
  const before = recorder('resumes', () => true);
  await app.resourceEvents.register(before.consumer);
  t.equal((await first.request({ method: 'POST', url: '/fhir/Organization', body: organization('Voor') })).statusCode, 201);
  await app.resourceEvents.drain();
  t.ok(before.calls >= 1, 'handled once');
  await app.resourceEvents.stop();
  t.equal((await first.request({ method: 'POST', url: '/fhir/Organization', body: organization('Tussen') })).statusCode, 201);
  const head = await eventHead(app);
  t.equal(await consumerPosition(app, 'resumes'), start, 'nothing recorded');
  await app.close();

  const config = testConfig(NO_POLL);
  const second = await buildApp({ config, db: database.db, closeDatabase: false, auth: await testAuthSetup() });
  t.teardown(() => second.close());
  const after = recorder('resumes');
  await second.resourceEvents.register(after.consumer);
  t.equal(await consumerPosition(second, 'resumes'), start, 'the known consumer keeps its position');
  await second.resourceEvents.drain();
  t.ok(contiguousFrom(start, after.seqs()), 'every event from its position on, in order, once');
  t.equal(after.seqs().at(-1), head, 'including those committed while nobody dispatched');
  t.ok(before.seqs().every((seq) => after.seqs().includes(seq)), 'the unrecorded ones again: at least once');
  t.equal(await consumerPosition(second, 'resumes'), head);
  t.equal((await injector(second)({ method: 'POST', url: '/fhir/Organization', body: organization('Na') })).statusCode, 201);
  t.ok(await until(() => after.seqs().at(-1) === head + 2), 'and goes on with new commits');
});

t.test(`a consumer is served by one dispatcher at a time, on ${engine}`, { skip: engine !== 'postgres' && 'several dispatchers share a consumer on PostgreSQL only' }, async (t) => {
  const { app, database, request } = await createTestApp(t, NO_POLL);
  const start = await eventHead(app);
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const slow = recorder('shared');
  const slowConsumer: EventConsumer = {
    name: 'shared',
    async handle(events) {
      await slow.consumer.handle(events);
      await held;
    },
  };
  await app.resourceEvents.register(slowConsumer);
  const other = new EventDispatcher(database.db, { pollMs: 0 });
  const otherSeen = recorder('shared');
  await other.register(otherSeen.consumer);
  t.teardown(() => other.stop());

  t.equal((await request({ method: 'POST', url: '/fhir/Organization', body: organization('Gedeeld') })).statusCode, 201);
  t.ok(await until(() => slow.calls === 1), 'the first node took the consumer');
  await other.drain();
  t.equal(otherSeen.calls, 0, 'the other node skipped it while it was held');
  release();
  await app.resourceEvents.drain();
  const head = await eventHead(app);
  t.equal(await consumerPosition(app, 'shared'), head);
  await other.drain();
  t.equal(otherSeen.calls, 0, 'nothing left for the other node');
  t.ok(contiguousFrom(start, slow.seqs()));
});
