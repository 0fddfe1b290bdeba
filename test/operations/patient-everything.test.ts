// Patient/$everything (patient-operation-everything.html): start/end, _since, _type, _count paging, total, no bookkeeping.
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { careScenario, observation } from '../helpers/care-scenario.js';
import { put, type Json } from '../helpers/search.js';

async function everything(app: TestApp, query: string, as: 'gp' | 'physio' = 'gp'): Promise<Json> {
  const response = await app.request({ method: 'GET', url: `/fhir/Patient/p-kok/$everything${query}`, as });
  t.equal(response.statusCode, 200, query);
  return response.json();
}

const refs = (body: Json): string[] => ((body.entry ?? []) as Json[]).map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();

t.test(`Patient/$everything parameters on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await careScenario(app);
  await put(app, observation('obs-2019', 'p-kok', { effectiveDateTime: '2019-05-01' }));
  await put(app, observation('obs-2021', 'p-kok', { effectivePeriod: { start: '2021-03-01', end: '2021-03-05' } }));

  const all = await everything(app, '?_count=100');
  const record = refs(all);
  t.same(record, ['CareTeam/ct-kok', 'Observation/obs-2019', 'Observation/obs-2021', 'Observation/obs-kok', 'Observation/obs-kok-2', 'Patient/p-kok'].sort(), 'the record, without Provenance or AuditEvent');
  t.equal(all.total, record.length);
  t.ok(refs(await everything(app, '?_type=Provenance&_count=100')).every((r) => r.startsWith('Provenance/')), '_type asks for the Provenance');
  t.ok((await everything(app, '?_type=Provenance')).total > 0);

  const since2020 = refs(await everything(app, '?start=2020-01-01&_count=100'));
  t.ok(since2020.includes('Patient/p-kok'), 'the Patient always');
  t.ok(since2020.includes('Observation/obs-2021'));
  t.notOk(since2020.includes('Observation/obs-2019'), 'care before start is left out');
  t.ok(since2020.includes('Observation/obs-kok'), 'a resource without a clinical date stays');
  const until2020 = refs(await everything(app, '?end=2020-01-01&_count=100'));
  t.ok(until2020.includes('Observation/obs-2019'));
  t.notOk(until2020.includes('Observation/obs-2021'), 'care after end is left out');
  const in2021 = refs(await everything(app, '?start=2021-03-04&end=2021-03-04&_count=100'));
  t.ok(in2021.includes('Observation/obs-2021'), 'a period overlapping the range');
  t.notOk(in2021.includes('Observation/obs-2019'));

  // Paging: every page names the total, next links lead through the record without repeats.
  let page = await everything(app, '?_count=2');
  const seen: string[] = [];
  for (let guard = 0; guard < 10; guard++) {
    t.equal(page.total, record.length, 'total on every page');
    t.ok(page.entry.length <= 2);
    seen.push(...refs(page));
    const next = (page.link as Json[]).find((l) => l.relation === 'next');
    if (!next) {
      break;
    }
    const url = new URL(next.url as string);
    t.match(url.search, /_count=2/);
    const response = await app.request({ method: 'GET', url: `${url.pathname}${url.search}`, as: 'gp' });
    t.equal(response.statusCode, 200);
    page = response.json();
  }
  t.same(seen.sort(), record, 'the pages hold the record once');

  const typed = await everything(app, '?_type=Observation,CareTeam&start=2020-01-01&_count=1');
  t.equal(typed.total, 4, '_type and start together: obs-2021, obs-kok, obs-kok-2 and the undated CareTeam');
  t.match((typed.link as Json[]).find((l) => l.relation === 'next').url, /start=2020-01-01/, 'next keeps the filters');

  const before = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 5));
  await put(app, observation('obs-late', 'p-kok'));
  t.same(refs(await everything(app, `?_since=${encodeURIComponent(before)}`)), ['Observation/obs-late'], '_since is meta.lastUpdated');

  const bad = await app.request({ method: 'GET', url: '/fhir/Patient/p-kok/$everything?start=soon', as: 'gp' });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().issue[0].code, 'value', 'start is declared a date in the OperationDefinition');
});
