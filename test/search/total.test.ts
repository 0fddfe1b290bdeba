// Bundle.total of multi-page searchsets (search.html#total; src/search/total.ts), counted over the narrowed query.
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { careScenario, observation } from '../helpers/care-scenario.js';
import { linkPath, put, type Json } from '../helpers/search.js';

const code = (value: string): Json => ({ code: { coding: [{ system: 'http://loinc.org', code: value }] } });

async function page(app: TestApp, url: string, as: 'admin' | 'physio' = 'admin'): Promise<Json> {
  const response = await app.request({ method: 'GET', url, as });
  t.equal(response.statusCode, 200, url);
  return response.json();
}

t.test(`total in multi-page searchsets on ${engine}`, async (t) => {
  // Exact up to 4 matches, so a few resources show both sides of the threshold.
  const app = await createTestApp(t, { SEARCH_TOTAL_EXACT_LIMIT: '4' });
  await careScenario(app);
  // Code T1: 6 for Visser (the physio's patient) and 3 for Kok (not the physio's).
  for (let i = 0; i < 6; i++) {
    await put(app, observation(`t1-vis-${i}`, 'p-vis', code('T1')));
  }
  for (let i = 0; i < 3; i++) {
    await put(app, observation(`t1-kok-${i}`, 'p-kok', code('T1')));
  }
  // Code T2: 2 for Visser, 3 for Kok.
  for (let i = 0; i < 2; i++) {
    await put(app, observation(`t2-vis-${i}`, 'p-vis', code('T2')));
  }
  for (let i = 0; i < 3; i++) {
    await put(app, observation(`t2-kok-${i}`, 'p-kok', code('T2')));
  }

  const below = await page(app, '/fhir/Observation?code=http://loinc.org|T2&_count=2');
  t.equal(below.entry.length, 2);
  t.ok(linkPath(below, 'next'), 'more than one page');
  t.equal(below.total, 5, 'below the threshold: exact');
  const second = await page(app, linkPath(below, 'next') as string);
  t.equal(second.total, 5, 'on the next page too');

  const above = await page(app, '/fhir/Observation?code=http://loinc.org|T1&_count=2');
  if (engine === 'postgres') {
    t.ok(above.total >= 5, 'above the threshold: the planner estimate, at least what was seen');
  } else {
    t.equal(above.total, 9, 'above the threshold on PGlite: exact');
  }
  t.equal((await page(app, '/fhir/Observation?code=http://loinc.org|T1&_count=2&_total=accurate')).total, 9, '_total=accurate');
  t.equal((await page(app, '/fhir/Observation?code=http://loinc.org|T1&_count=2&_total=none')).total, undefined, '_total=none leaves it out');
  t.equal((await page(app, '/fhir/Observation?code=http://loinc.org|T1&_count=20&_total=none')).total, undefined, 'also when all fits one page');
  t.type((await page(app, '/fhir/Observation?code=http://loinc.org|T1&_count=2&_total=estimate')).total, 'number', '_total=estimate');

  // Narrowed: the physio counts only what it may see.
  const narrowBelow = await page(app, '/fhir/Observation?code=http://loinc.org|T2&_count=1', 'physio');
  t.equal(narrowBelow.entry.length, 1);
  t.equal(narrowBelow.total, 2, 'only the visible ones');
  const narrowAccurate = await page(app, '/fhir/Observation?code=http://loinc.org|T1&_count=2&_total=accurate', 'physio');
  t.equal(narrowAccurate.total, 6, 'accurate over the narrowed query');
  const narrowDefault = await page(app, '/fhir/Observation?code=http://loinc.org|T1&_count=2', 'physio');
  if (engine === 'postgres') {
    t.ok(narrowDefault.total >= 5);
  } else {
    t.equal(narrowDefault.total, 6);
  }
});
