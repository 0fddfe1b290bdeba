import t from 'tap';
import { buildApp } from '../../src/app.js';
import type { Database } from '../../src/storage/database.js';
import { engine, testConfig } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import { adminAuthorization, testAuthSetup } from '../helpers/auth.js';

/** The real database, with reads slowed down so that a request is still in flight at close. */
function slowReads(db: Database, gate: Promise<void>, armed: () => boolean): Database & { closed: boolean } {
  const wrapped = {
    ...db,
    closed: false,
    query: async (sql: string, params?: readonly unknown[]) => {
      if (armed() && /^\s*SELECT version_id, last_updated, deleted, content FROM resource\b/.test(sql)) {
        await gate;
      }
      return db.query(sql, params);
    },
    close: async () => {
      wrapped.closed = true;
      await db.close();
    },
  };
  return wrapped as Database & { closed: boolean };
}

t.test(`graceful shutdown finishes in-flight requests before closing the database on ${engine}`, async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.destroy());
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  // The start reads the installed profiles and definitions: slow down reads only once up.
  let started = false;
  const db = slowReads(database.db, gate, () => started);
  const app = await buildApp({ config: testConfig(), db, auth: await testAuthSetup() });
  const authorization = await adminAuthorization(app);
  await app.inject({ method: 'PUT', url: '/fhir/Patient/p1', headers: { 'content-type': 'application/fhir+json', authorization }, payload: JSON.stringify({ resourceType: 'Patient', id: 'p1' }) });
  started = true;
  const address = await app.listen({ port: 0, host: '127.0.0.1' });

  const inFlight = fetch(`${address}/fhir/Patient/p1`, { headers: { authorization } });
  await new Promise((r) => setTimeout(r, 100));
  const closing = app.close();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(db.closed, false, 'the database stays open while a request is in flight');
  release();
  const response = await inFlight;
  t.equal(response.status, 200, 'the in-flight request completes');
  t.equal(((await response.json()) as { id: string }).id, 'p1');
  await closing;
  t.equal(db.closed, true, 'the database is closed once the server has stopped');
});
