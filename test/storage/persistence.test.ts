import t from 'tap';
import { buildApp } from '../../src/app.js';
import { engine, injector, testConfig } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import { testAuthSetup } from '../helpers/auth.js';

t.test(`data survives a restart on ${engine}`, async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.destroy());
  const config = testConfig();

  const first = await buildApp({ config, db: database.db, auth: await testAuthSetup() });
  const created = await injector(first)({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Patient', name: [{ family: 'Blijvend' }] } });
  t.equal(created.statusCode, 201);
  const id = created.json().id as string;
  await injector(first)({ method: 'PUT', url: `/fhir/Patient/${id}`, body: { resourceType: 'Patient', id, name: [{ family: 'Blijvend2' }] } });
  await first.close(); // closes the database, as on shutdown

  const second = await buildApp({ config, db: await database.reopen(), auth: await testAuthSetup() });
  t.teardown(() => second.close());
  const read = await injector(second)({ method: 'GET', url: `/fhir/Patient/${id}` });
  t.equal(read.statusCode, 200);
  t.equal(read.json().name[0].family, 'Blijvend2');
  t.equal(read.json().meta.versionId, '2');
  const v1 = await injector(second)({ method: 'GET', url: `/fhir/Patient/${id}/_history/1` });
  t.equal(v1.json().name[0].family, 'Blijvend');
  const next = await injector(second)({ method: 'PUT', url: `/fhir/Patient/${id}`, body: { resourceType: 'Patient', id, name: [{ family: 'Drie' }] } });
  t.equal(next.json().meta.versionId, '3', 'version numbering continues after the restart');
});

t.test('PGlite gathers planner statistics itself (it has no autovacuum)', { skip: engine === 'postgres' ? 'PostgreSQL analyzes with autovacuum' : false }, async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.destroy());
  const tuples = async (db: { query<R extends object>(sql: string): Promise<R[]> }) =>
    Number((await db.query<{ reltuples: number }>("SELECT reltuples FROM pg_class WHERE relname = 'resource'"))[0]?.reltuples);
  // The test database starts with the server's definitions in it, analyzed when it was opened.
  const atOpen = await tuples(database.db);
  const app = await buildApp({ config: testConfig(), db: database.db, auth: await testAuthSetup() });
  for (let i = 0; i < 3; i++) {
    t.equal((await injector(app)({ method: 'POST', url: '/fhir/Patient', body: { resourceType: 'Patient', name: [{ family: `Statistiek${i}` }] } })).statusCode, 201);
  }
  t.equal(await tuples(database.db), atOpen, 'writes alone leave the statistics behind');
  await app.close();
  const reopened = await database.reopen();
  t.teardown(() => reopened.close());
  t.ok((await tuples(reopened)) >= Math.max(atOpen, 0) + 3, 'opening the database analyzes it');
});
