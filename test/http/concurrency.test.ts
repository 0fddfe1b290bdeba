import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';

const patient = (id: string, family: string) => ({ resourceType: 'Patient', id, name: [{ family }] });

t.test(`20 parallel updates with the same If-Match leave one winner on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  await request({ method: 'PUT', url: '/fhir/Patient/race', body: patient('race', 'Start') });
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      request({ method: 'PUT', url: '/fhir/Patient/race', headers: { 'if-match': 'W/"1"' }, body: patient('race', `Writer${i}`) })
    )
  );
  const statuses = results.map((r) => r.statusCode).sort();
  t.equal(statuses.filter((s) => s === 200).length, 1, 'exactly one update wins');
  t.equal(statuses.filter((s) => s === 412).length, 19, 'the others get 412');
  const winner = results.find((r) => r.statusCode === 200)!.json();
  const history = (await request({ method: 'GET', url: '/fhir/Patient/race/_history' })).json();
  t.equal(history.total, 2, 'no lost or extra history row');
  t.same(history.entry.map((e: any) => e.resource.meta.versionId), ['2', '1']);
  t.equal(history.entry[0].resource.name[0].family, winner.name[0].family, 'history holds the winner');
});

t.test(`20 parallel updates without If-Match all land as their own version on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  await request({ method: 'PUT', url: '/fhir/Patient/busy', body: patient('busy', 'Start') });
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => request({ method: 'PUT', url: '/fhir/Patient/busy', body: patient('busy', `Writer${i}`) }))
  );
  t.same(new Set(results.map((r) => r.statusCode)), new Set([200]), 'all succeed');
  const versions = results.map((r) => Number(r.json().meta.versionId)).sort((a, b) => a - b);
  t.same(versions, Array.from({ length: 20 }, (_, i) => i + 2), 'each gets its own version, no duplicates');
  const history = (await request({ method: 'GET', url: '/fhir/Patient/busy/_history?_count=100' })).json();
  t.equal(history.total, 21);
  t.same(
    history.entry.map((e: any) => Number(e.resource.meta.versionId)),
    Array.from({ length: 21 }, (_, i) => 21 - i),
    'gap-free history'
  );
  const current = (await request({ method: 'GET', url: '/fhir/Patient/busy' })).json();
  t.equal(current.meta.versionId, '21');
  t.equal(current.name[0].family, history.entry[0].resource.name[0].family, 'current equals the last history row');
});

t.test(`parallel update-as-create of one id makes one resource on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) => request({ method: 'PUT', url: '/fhir/Patient/new-one', body: patient('new-one', `W${i}`) }))
  );
  const statuses = results.map((r) => r.statusCode);
  t.equal(statuses.filter((s) => s === 201).length, 1, 'one create');
  t.equal(statuses.filter((s) => s === 200).length, 9, 'nine updates');
  const history = (await request({ method: 'GET', url: '/fhir/Patient/new-one/_history?_count=50' })).json();
  t.equal(history.total, 10);
});
