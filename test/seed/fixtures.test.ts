import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { fixtureBundles, seedFixtures } from '../../src/seed/fixtures.js';

t.test(`fixtures load as transactions into an empty database, once, on ${engine}`, async (t) => {
  const { app, request } = await createTestApp(t);
  const expected = fixtureBundles().reduce((n, { bundle }) => n + (bundle.entry?.length ?? 0), 0);
  t.ok(expected > 0);
  t.equal(await seedFixtures(app.fhirContext, 'http://localhost:80/fhir'), expected);
  const first = fixtureBundles()[0]!.bundle.entry![0]!.request!.url;
  t.equal((await request({ method: 'GET', url: `/fhir/${first}` })).statusCode, 200);
  t.equal(await seedFixtures(app.fhirContext, 'http://localhost:80/fhir'), 0, 'a database with data is left alone');
});
