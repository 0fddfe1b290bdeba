/**
 * The referrer's inbox (docs/care-workflows.md): one search for the referrer's open referrals with their
 * Tasks and feedback, newest first. And a check that it, and the logbook, are index-backed: every
 * statement they run is planned without a sequential scan of the resource or index tables when
 * the planner is told to avoid them (so an index can serve each one).
 */
import t from 'tap';
import { buildApp } from '../../src/app.js';
import type { Database, Queryable } from '../../src/storage/database.js';
import { engine, injector, testConfig } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';
import { createTestDatabase } from '../helpers/database.js';
import { bloodPressure, feedback, feedbackOutput, loadWorld, referral, referralTask, sharedCarePlan, write } from '../helpers/care.js';
import { search, type Json } from '../helpers/search.js';

interface Recorded {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** The database, recording the statements run outside transactions while `log` is set. */
function recording(db: Database): { db: Database; log: Recorded[] | undefined } {
  const state: { db: Database; log: Recorded[] | undefined } = { db, log: undefined };
  const wrap = (q: Queryable): Queryable => ({
    query: (sql, params) => {
      state.log?.push({ sql, params: params ?? [] });
      return q.query(sql, params);
    },
    exec: (sql) => q.exec(sql),
  });
  state.db = { engine: db.engine, ...wrap(db), transaction: (fn) => db.transaction(fn), close: () => db.close() };
  return state;
}

const INBOX = '/fhir/ServiceRequest?requester=PractitionerRole/gp&status=active&_revinclude=Task:focus&_revinclude=Communication:based-on&_sort=-authored';

t.test(`the referrer's inbox on ${engine}`, async (t) => {
  const database = await createTestDatabase();
  const recorder = recording(database.db);
  const fastify = await buildApp({ config: testConfig(), db: recorder.db, closeDatabase: false , auth: await testAuthSetup() });
  t.teardown(async () => {
    await fastify.close();
    await database.destroy();
  });
  const app = { app: fastify, config: testConfig(), database, request: injector(fastify), startedAt: new Date().toISOString() };
  await loadWorld(app);

  const older = await write(app, { ...referral({ authoredOn: '2026-09-01T09:00:00+02:00' }), id: 'older' });
  const newer = await write(app, { ...referral({ authoredOn: '2026-09-05T09:00:00+02:00' }), id: 'newer' });
  const done = await write(app, { ...referral({ authoredOn: '2026-08-20T09:00:00+02:00' }), id: 'done' });
  const notMine = await write(app, { ...referral({ requester: { reference: 'PractitionerRole/nurse' } }), id: 'not-mine' });
  const tasks: Record<string, Json> = {};
  for (const sr of [older, newer, done, notMine]) {
    tasks[sr.id] = await write(app, { ...referralTask(sr.id), id: `task-${sr.id as string}` });
  }
  const move = async (id: string, ...statuses: string[]) => {
    for (const status of statuses) {
      const current = (await app.request({ method: 'GET', url: `/fhir/Task/task-${id}` })).json();
      await write(app, { ...current, status, owner: { reference: 'PractitionerRole/physio' }, ...(status === 'completed' ? { output: feedbackOutput(`fb-${id}`) } : {}), ...(status === 'rejected' ? { statusReason: { text: 'Geen capaciteit' } } : {}) });
    }
  };
  await move('older', 'received');
  await move('newer', 'received', 'accepted', 'in-progress');
  await write(app, { ...feedback('newer', { sent: '2026-09-12T17:00:00+02:00', payload: [{ contentString: 'Intake gedaan, behandelplan 6 weken.' }] }), id: 'fb-newer' });
  await write(app, { ...feedback('done'), id: 'fb-done' });
  await move('done', 'received', 'accepted', 'in-progress', 'completed');

  t.test('open referrals with their Tasks and feedback, newest first', async (t) => {
    const inbox = await search(app, INBOX);
    t.equal(inbox.status, 200);
    t.same(inbox.ids, ['newer', 'older'], 'only active referrals of this requester, newest first');
    t.same(inbox.included, ['Communication/fb-newer', 'Task/task-newer', 'Task/task-older'], 'with their Tasks and feedback');
    const states = Object.fromEntries(inbox.body.entry.filter((e: Json) => e.resource.resourceType === 'Task').map((e: Json) => [e.resource.id, e.resource.status]));
    t.same(states, { 'task-newer': 'in-progress', 'task-older': 'received' }, 'so the referrer sees where each one stands without phoning');
    const all = await search(app, INBOX.replace('status=active', 'status=active,completed'));
    t.same(all.ids, ['newer', 'older', 'done'], 'completed ones too, when asked');
    t.ok(all.included.includes('Communication/fb-done'));
    await move('older', 'rejected');
    t.same((await search(app, INBOX)).ids, ['newer'], 'a rejected referral is revoked and leaves the inbox');
  });

  t.test('the inbox and the logbook are index-backed', async (t) => {
    await write(app, { ...sharedCarePlan(), id: 'plan-index' });
    await write(app, { ...bloodPressure(120, 80, { basedOn: [{ reference: 'CarePlan/plan-index' }] }), id: 'bp-index' });
    const searches = [
      INBOX,
      '/fhir/CarePlan/plan-index/$logbook?author-discipline=30.000&category=vital-signs&date=ge2026-01-01&_count=5',
      '/fhir/Patient/pat-1/$logbook?_count=5',
    ];
    const scansOf = async (sql: string, params: readonly unknown[]): Promise<string[]> => {
      const plan = await database.db.transaction(async (tx) => {
        await tx.exec('SET LOCAL enable_seqscan = off');
        return tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
      });
      return plan.map((row) => row['QUERY PLAN']).join('\n').match(/Seq Scan on (resource|resource_history|search_\w+)\b/g) ?? [];
    };
    t.same(await scansOf('SELECT id FROM resource WHERE content LIKE $1', ['%Jansen%']), ['Seq Scan on resource'], 'the check sees a scan where no index can serve');
    for (const url of searches) {
      recorder.log = [];
      const response = await app.request({ method: 'GET', url });
      const statements = recorder.log;
      recorder.log = undefined;
      t.equal(response.statusCode, 200, url);
      t.ok(statements.length > 0);
      for (const statement of statements) {
        t.same(await scansOf(statement.sql, statement.params), [], `${url}: ${statement.sql.replace(/\s+/g, ' ').slice(0, 120)}`);
      }
    }
  });
});
