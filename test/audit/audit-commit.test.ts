// Group commit of audit records (src/audit/audit-commit.ts) through HTTP: concurrent reads share
// INSERTs, each read answers only after its own record is stored, a failed audit INSERT answers
// 503 without data, and records still queued are stored when the app closes.
import type { FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import type { Database, Queryable } from '../../src/storage/database.js';
import { engine, injector, testConfig } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';
import { createTestDatabase } from '../helpers/database.js';
import { assertIssue } from '../helpers/outcome.js';

const INSERT = /\binsert\s+into\b/i;

/**
 * The database with a count of INSERT statements run outside a transaction (the writes of the
 * group commit: a write's own audit record is inserted inside its transaction), and a switch that
 * makes those fail.
 */
function observed(db: Database) {
  const state = { inserts: 0, held: 0, fail: undefined as (() => Error) | undefined, hold: undefined as Promise<void> | undefined };
  const wrapped: Database = {
    engine: db.engine,
    async query<R extends object>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      if (INSERT.test(sql)) {
        state.inserts += 1;
        if (state.fail) {
          throw state.fail();
        }
        if (state.hold) {
          state.held += 1;
          await state.hold;
        }
      }
      return db.query<R>(sql, params);
    },
    exec: (sql: string) => db.exec(sql),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => db.transaction(fn),
    close: () => db.close(),
  };
  return { db: wrapped, state };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function appOn(db: Database, overrides: Record<string, string> = {}, lines?: string[]): Promise<FastifyInstance> {
  const config = testConfig(lines ? { ...overrides, LOG_LEVEL: 'info' } : overrides);
  const logStream = lines ? { write: (line: string) => void lines.push(line) } : undefined;
  return buildApp({ config, db, closeDatabase: false, auth: await testAuthSetup(), ...(logStream ? { logStream } : {}) });
}

async function patientIn(t: Test, request: ReturnType<typeof injector>, id: string): Promise<void> {
  const put = await request({
    method: 'PUT',
    url: `/fhir/Patient/${id}`,
    body: { resourceType: 'Patient', id, name: [{ family: 'Groepsschrijver', given: ['Gerda'] }], birthDate: '1950-02-03' },
  });
  t.equal(put.statusCode, 201, `Patient/${id} created`);
}

/** AuditEvents of reads of the patient, through the FHIR API as the log manager. */
async function readsOf(t: Test, request: ReturnType<typeof injector>, id: string): Promise<number> {
  const response = await request({ method: 'GET', url: `/fhir/AuditEvent?entity=Patient/${id}&subtype=read&_total=accurate&_count=1`, as: 'auditor' });
  t.equal(response.statusCode, 200);
  return response.json().total as number;
}

t.test(`group commit of audit records on ${engine}`, async (t) => {
  const database = await createTestDatabase();
  const { db, state } = observed(database.db);
  const lines: string[] = [];
  // All 50 reads in flight at once (the admission gate lets 2 through on PGlite by default), so
  // the test sees how the records of concurrent requests are grouped.
  const app = await appOn(db, { OVERLOAD_MAX_ACTIVE_REQUESTS: '50' }, lines);
  t.teardown(async () => {
    await app.close();
    await database.destroy();
  });
  const request = injector(app);

  await t.test('50 concurrent reads: 50 records, in fewer INSERTs than reads', async (t) => {
    await patientIn(t, request, 'gc-burst');
    t.equal(await readsOf(t, request, 'gc-burst'), 0, 'nothing read yet');
    state.inserts = 0;
    const answers = await Promise.all(Array.from({ length: 50 }, () => request({ method: 'GET', url: '/fhir/Patient/gc-burst' })));
    const inserts = state.inserts;
    t.same(
      answers.map((a) => a.statusCode),
      Array.from({ length: 50 }, () => 200)
    );
    t.equal(answers[0]?.json().id, 'gc-burst');
    t.ok(inserts >= 1 && inserts < 50, `the records went in fewer INSERTs than reads (${inserts})`);
    t.equal(await readsOf(t, request, 'gc-burst'), 50, 'exactly one AuditEvent per read, each committed before its answer');
  });

  await t.test('an audit INSERT that fails answers 503 with Retry-After and no data', async (t) => {
    await patientIn(t, request, 'gc-fail');
    state.fail = () => Object.assign(new Error('check constraint violated'), { code: '23514' });
    try {
      const read = await request({ method: 'GET', url: '/fhir/Patient/gc-fail' });
      assertIssue(t, read, 503, 'transient');
      t.ok(read.headers['retry-after'], 'with Retry-After');
      t.equal(read.json().resourceType, 'OperationOutcome');
      t.notMatch(read.body, /Groepsschrijver|1950-02-03/, 'none of the patient data');
      const logged = lines.filter((line) => line.includes('audit record not stored'));
      t.ok(logged.length > 0, 'the refused record is logged');
      t.notMatch(logged.join('\n'), /Groepsschrijver|1950-02-03|gc-fail/, 'without patient data');

      const search = await request({ method: 'GET', url: '/fhir/Patient?family=Groepsschrijver' });
      assertIssue(t, search, 503, 'transient');
      t.notMatch(search.body, /Groepsschrijver|1950-02-03|gc-fail/, 'a search neither');

      const refused = await request({ method: 'GET', url: '/fhir/Patient/gc-nonexistent' });
      assertIssue(t, refused, 503, 'transient', undefined);

      const login = await request({ method: 'GET', url: '/fhir/Patient/gc-fail', headers: { authorization: 'Bearer not-a-token' } });
      assertIssue(t, login, 503, 'transient');

      state.fail = () => Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
      const lost = await request({ method: 'GET', url: '/fhir/Patient/gc-fail' });
      assertIssue(t, lost, 503, 'transient');
      t.ok(lost.headers['retry-after'], 'a lost connection: 503 with Retry-After too');
      t.notMatch(lost.body, /Groepsschrijver|1950-02-03/);
    } finally {
      state.fail = undefined;
    }
    t.equal(await readsOf(t, request, 'gc-fail'), 0, 'no read was recorded, and none answered with data');
    t.equal((await request({ method: 'GET', url: '/fhir/Patient/gc-fail' })).statusCode, 200, 'reads answer again once the log takes records');
  });

  await t.test('records still queued are written when the app closes, before the database does', async (t) => {
    await patientIn(t, request, 'gc-close');
    // A second app on the same database whose records wait a whole second for company.
    const slow = await appOn(db, { AUDIT_GROUP_COMMIT_MS: '1000', AUDIT_GROUP_COMMIT_FLUSHES: '1' });
    const slowRequest = injector(slow);
    // The first read's INSERT is held, so the second read's record queues behind it with its delay.
    let release: () => void = () => undefined;
    state.hold = new Promise<void>((resolve) => (release = resolve));
    const first = slowRequest({ method: 'GET', url: '/fhir/Patient/gc-close' });
    await until(() => state.held > 0);
    let answered = false;
    const second = slowRequest({ method: 'GET', url: '/fhir/Patient/gc-close' }).then((r) => {
      answered = true;
      return r;
    });
    await until(() => slow.fhirContext.auditCommit.queued === 1);
    state.hold = undefined;
    release();
    t.equal((await first).statusCode, 200);
    t.equal(answered, false, 'the second read waits for its record');
    const started = Date.now();
    await slow.close();
    const closedAfter = Date.now() - started;
    await new Promise((resolve) => setImmediate(resolve));
    t.equal(answered, true, `closing wrote the record without waiting out the delay (closed after ${closedAfter} ms)`);
    t.equal((await second).statusCode, 200);
    t.equal(await readsOf(t, request, 'gc-close'), 2, 'both records are stored');
  });
});
