/**
 * Conditional writes lock what their criteria match, not the text of the criteria
 * (src/interactions/conditional-lock.ts): different spellings of one identifier match, sent at
 * the same time, leave one resource. On PGlite every transaction already runs alone; on
 * PostgreSQL these failed before the lock was keyed on the identifier value.
 */
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { createTestApp, engine, injector, testConfig, type TestApp } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';

const SYSTEM = 'urn:test:conditional-lock';
const ROUNDS = 5;

/** Three spellings that all match a Patient with identifier SYSTEM|value and gender unknown. */
function spellings(value: string): string[] {
  return [`identifier=${SYSTEM}|${value}`, `identifier=${value}`, `identifier=${SYSTEM}|${value}&gender=unknown`];
}

function patient(value: string): Record<string, unknown> {
  return { resourceType: 'Patient', identifier: [{ system: SYSTEM, value }], gender: 'unknown', name: [{ family: 'Gelijktijdig' }] };
}

async function stored(request: TestApp['request'], value: string): Promise<string[]> {
  const response = await request({ method: 'GET', url: `/fhir/Patient?identifier=${SYSTEM}|${value}&_count=100&_elements=id` });
  const bundle = response.json<{ entry?: Array<{ resource: { id: string } }> }>();
  return (bundle.entry ?? []).map((e) => e.resource.id);
}

function statuses(responses: readonly LightMyRequestResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) {
    counts[r.statusCode] = (counts[r.statusCode] ?? 0) + 1;
  }
  return counts;
}

t.test(`conditional creates in three spellings, 50 at once, leave one Patient on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  for (let round = 0; round < ROUNDS; round++) {
    const value = `cc-${round}-${randomUUID()}`;
    const criteria = spellings(value);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        request({ method: 'POST', url: '/fhir/Patient', body: patient(value), headers: { 'if-none-exist': criteria[n % 3] as string } })
      )
    );
    t.same(statuses(responses), { 201: 1, 200: 49 }, `round ${round}: one 201, the rest 200 with the match`);
    const ids = await stored(request, value);
    t.equal(ids.length, 1, `round ${round}: one Patient stored`);
    t.ok(
      responses.every((r) => r.json().id === ids[0]),
      `round ${round}: every answer names that Patient`
    );
  }
});

t.test(`conditional updates (PUT ?criteria) in three spellings at once leave one Patient on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  for (let round = 0; round < 3; round++) {
    const value = `cu-${round}-${randomUUID()}`;
    const criteria = spellings(value);
    const responses = await Promise.all(
      // Each body differs (its given name), so that each update is a change and makes a version.
      Array.from({ length: 30 }, (_, n) =>
        request({ method: 'PUT', url: `/fhir/Patient?${criteria[n % 3] as string}`, body: { ...patient(value), name: [{ family: 'Gelijktijdig', given: [`W${n}`] }] } })
      )
    );
    t.same(statuses(responses), { 201: 1, 200: 29 }, `round ${round}: one created, 29 updated it`);
    const ids = await stored(request, value);
    t.equal(ids.length, 1, `round ${round}: one Patient stored`);
    const current = (await request({ method: 'GET', url: `/fhir/Patient/${ids[0] as string}` })).json<{ meta: { versionId: string } }>();
    t.equal(current.meta.versionId, '30', `round ${round}: each write became its own version`);
  }
});

t.test(`transactions' ifNoneExist and plain conditional creates, mixed spellings, leave one Patient on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  for (let round = 0; round < 3; round++) {
    const value = `tx-${round}-${randomUUID()}`;
    const criteria = spellings(value);
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, n) => {
        const ifNoneExist = criteria[n % 3] as string;
        return n % 2 === 0
          ? request({
              method: 'POST',
              url: '/fhir',
              body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patient(value), request: { method: 'POST', url: 'Patient', ifNoneExist } }] },
            })
          : request({ method: 'POST', url: '/fhir/Patient', body: patient(value), headers: { 'if-none-exist': ifNoneExist } });
      })
    );
    t.ok(
      responses.every((r) => r.statusCode === 200 || r.statusCode === 201),
      `round ${round}: every write succeeded (${JSON.stringify(statuses(responses))})`
    );
    t.equal((await stored(request, value)).length, 1, `round ${round}: one Patient stored`);
  }
});

// A PGlite folder is opened by one process only (an embedded single-session engine), so there is
// no second instance to race with.
const twoInstances = engine === 'pglite' ? 'two instances cannot share a PGlite data folder; this runs on PostgreSQL (DATABASE_URL)' : false;

t.test(`two app instances on one database serialise mixed spellings on ${engine}`, { skip: twoInstances }, async (t) => {
  const first = await createTestApp(t);
  const db = await first.database.reopen();
  const second = await buildApp({ config: testConfig(), db, closeDatabase: false, auth: await testAuthSetup() });
  t.teardown(() => second.close());
  const other = injector(second);
  for (let round = 0; round < ROUNDS; round++) {
    const value = `apps-${round}-${randomUUID()}`;
    const criteria = spellings(value);
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, n) =>
        (n % 2 === 0 ? first.request : other)({
          method: 'POST',
          url: '/fhir/Patient',
          body: patient(value),
          headers: { 'if-none-exist': criteria[n % 3] as string },
        })
      )
    );
    t.same(statuses(responses), { 201: 1, 200: 39 }, `round ${round}: one 201 across both instances`);
    t.equal((await stored(first.request, value)).length, 1, `round ${round}: one Patient stored`);
  }
});
