/**
 * A PostgreSQL server that refuses work: sessions that are read-only (a demoted primary,
 * `default_transaction_read_only`, SQLSTATE 25006) and a role over its connection limit (53300).
 * Through HTTP, writes must answer 503 with Retry-After and an OperationOutcome, never 500;
 * /readyz must say why; and the service must write again once the server does, without restart.
 *
 * The app's pool logs in as a role of its own: superusers are exempt from connection limits.
 * PostgreSQL pass only (DATABASE_URL); PGlite's counterpart is test/storage/disk-full.test.ts.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { openPostgres } from '../../src/storage/postgres.js';
import { engine, injector, testConfig } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';
import { createTestDatabase } from '../helpers/database.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

if (engine !== 'postgres') {
  t.plan(0, 'read-only sessions and connection limits are PostgreSQL server settings (DATABASE_URL pass); PGlite: see disk-full.test.ts');
} else {
  const adminUrl = process.env['DATABASE_URL'] ?? '';
  const database = await createTestDatabase();
  const [named] = await database.db.query<{ name: string }>('SELECT current_database() AS name');
  const dbName = named?.name ?? '';
  const role = `schakel_capacity_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN`);
  await admin.query(`GRANT ALL PRIVILEGES ON DATABASE ${dbName} TO ${role}`);
  const inDb = new pg.Client({ connectionString: urlFor(adminUrl, dbName) });
  await inDb.connect();
  for (const grant of ['ALL ON SCHEMA public', 'ALL ON ALL TABLES IN SCHEMA public', 'ALL ON ALL SEQUENCES IN SCHEMA public', 'ALL ON ALL FUNCTIONS IN SCHEMA public']) {
    await inDb.query(`GRANT ${grant} TO ${role}`);
  }
  await inDb.end();
  const db = await openPostgres(urlFor(adminUrl, dbName, role), { poolSize: 4, connectTimeoutMs: 2000 });
  const app = await buildApp({ config: testConfig(), db, auth: await testAuthSetup() });
  const request = injector(app);
  t.teardown(async () => {
    await app.close();
    await database.destroy();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  /**
   * New sessions of the role see the changed setting; the pool drops the ended ones. Every session
   * that started before the change is ended, also one that a background task of the app (the event
   * dispatcher, the export runner) was opening at that moment and that shows in pg_stat_activity
   * only a little later: so the check repeats until none is left.
   */
  const endSessions = async (): Promise<void> => {
    const [changed] = (await admin.query<{ at: Date }>('SELECT now() AS at')).rows;
    for (let round = 0; round < 50; round++) {
      const { rows } = await admin.query<{ ended: boolean }>(
        'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE usename = $1 AND backend_start <= $2',
        [role, changed?.at]
      );
      await sleep(rows.length === 0 ? 300 : 200);
      if (rows.length === 0) {
        const [left] = (
          await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND backend_start <= $2', [role, changed?.at])
        ).rows;
        if ((left?.n ?? 0) === 0) {
          return;
        }
      }
    }
  };
  const create = (family: string) => request({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Patient', name: [{ family }] } });

  t.test('read-only sessions (25006): writes 503 with Retry-After and an OperationOutcome, /readyz says why', async (t) => {
    const before = await create('Lezen');
    t.equal(before.statusCode, 201, 'a create succeeds');
    await admin.query(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
    await endSessions();
    const refused = await create('Lezen');
    t.equal(refused.statusCode, 503, 'a create answers 503, not 500');
    t.ok(Number(refused.headers['retry-after']) > 0, 'with Retry-After');
    t.equal(refused.json().resourceType, 'OperationOutcome');
    t.equal(refused.json().issue[0].code, 'no-store', 'issue type no-store');
    const read = await request({ method: 'GET', url: `/fhir/Patient/${String(before.json().id)}` });
    t.not(read.statusCode, 500, `a read is not a 500 either (${read.statusCode}: its audit row cannot be stored)`);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 503, '/readyz is 503');
    t.equal(ready.json().reason, 'database is read-only', 'with the reason');
    await admin.query(`ALTER ROLE ${role} RESET default_transaction_read_only`);
    await endSessions();
    t.equal((await create('Lezen')).statusCode, 201, 'writes work again once the server takes them');
    t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, '/readyz is 200 again');
  });

  t.test('a role over its connection limit (53300): 503 with Retry-After, never 500', async (t) => {
    await admin.query(`ALTER ROLE ${role} CONNECTION LIMIT 0`);
    await endSessions();
    const refused = await create('Verbinding');
    t.equal(refused.statusCode, 503, 'a create answers 503, not 500');
    t.ok(Number(refused.headers['retry-after']) > 0, 'with Retry-After');
    t.equal(refused.json().resourceType, 'OperationOutcome');
    t.equal(refused.json().issue[0].code, 'transient', 'issue type transient');
    const search = await request({ method: 'GET', url: '/fhir/Patient?family=Verbinding' });
    t.equal(search.statusCode, 503, 'a search answers 503 as well');
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 503, '/readyz is 503');
    t.equal(ready.json().reason, 'too many connections', 'with the reason');
    await admin.query(`ALTER ROLE ${role} CONNECTION LIMIT -1`);
    t.equal((await create('Verbinding')).statusCode, 201, 'writes work again once connections are allowed');
  });
}

function urlFor(base: string, dbName: string, user?: string): string {
  const url = new URL(base);
  url.pathname = `/${dbName}`;
  if (user) {
    url.username = user;
    url.password = '';
  }
  return url.toString();
}
