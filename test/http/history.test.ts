import t from 'tap';
import { withoutProvenance } from '../helpers/search.js';
import { createTestApp, engine } from '../helpers/app.js';

const patient = (family: string) => ({ resourceType: 'Patient', name: [{ family }] });

t.test(`instance, type and system history on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  // The server installs its profiles and definitions at start: system history from here on.
  const since = encodeURIComponent(new Date().toISOString());
  const a = (await request({ method: 'POST', url: '/fhir/Patient', body: patient('A') })).json();
  await request({ method: 'PUT', url: `/fhir/Patient/${a.id}`, body: { ...patient('A2'), id: a.id } });
  const org = (await request({ method: 'POST', url: '/fhir/Organization', body: { resourceType: 'Organization', name: 'Praktijk' } })).json();
  await request({ method: 'DELETE', url: `/fhir/Patient/${a.id}` });

  const instance = await request({ method: 'GET', url: `/fhir/Patient/${a.id}/_history` });
  t.equal(instance.statusCode, 200, 'a deleted resource keeps its history');
  const ib = instance.json();
  t.equal(ib.type, 'history');
  t.equal(ib.total, 3);
  t.same(ib.entry.map((e: any) => e.request.method), ['DELETE', 'PUT', 'POST'], 'newest first');
  t.same(ib.entry.map((e: any) => e.response.etag), ['W/"3"', 'W/"2"', 'W/"1"']);
  t.notOk(ib.entry[0].resource, 'the deletion has no resource');
  t.equal(ib.entry[1].resource.name[0].family, 'A2');
  t.equal(ib.entry[2].response.status, '201 Created');
  t.match(ib.entry[0].fullUrl, new RegExp(`/fhir/Patient/${a.id}$`));

  const type = (await request({ method: 'GET', url: '/fhir/Patient/_history' })).json();
  t.equal(type.total, 3);
  const orgs = (await request({ method: 'GET', url: '/fhir/Organization/_history' })).json();
  t.equal(orgs.total, 1);
  t.equal(orgs.entry[0].resource.id, org.id);

  const system = withoutProvenance((await request({ method: 'GET', url: `/fhir/_history?_since=${since}` })).json().entry);
  t.equal(system.length, 4);
  t.same(
    system.map((e: any) => `${e.request.method} ${e.request.url}`),
    [`DELETE Patient/${a.id}`, 'POST Organization', `PUT Patient/${a.id}`, 'POST Patient']
  );

  t.equal((await request({ method: 'GET', url: '/fhir/Patient/nope/_history' })).statusCode, 404);
  t.equal((await request({ method: 'GET', url: '/fhir/_history?foo=bar' })).statusCode, 400, 'unknown parameter');
  t.equal(
    (await request({ method: 'GET', url: '/fhir/_history?foo=bar', headers: { prefer: 'handling=lenient' } })).statusCode,
    200,
    'lenient handling ignores it'
  );
  t.equal((await request({ method: 'GET', url: '/fhir/_history?_since=yesterday' })).statusCode, 400);
  t.equal((await request({ method: 'GET', url: '/fhir/_history?_count=-1' })).statusCode, 400);
});

t.test(`_since and _at on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const a = (await request({ method: 'POST', url: '/fhir/Patient', body: patient('Before') })).json();
  await new Promise((r) => setTimeout(r, 20));
  const middle = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 20));
  await request({ method: 'PUT', url: `/fhir/Patient/${a.id}`, body: { ...patient('After'), id: a.id } });
  const b = (await request({ method: 'POST', url: '/fhir/Patient', body: patient('Later') })).json();

  const since = (await request({ method: 'GET', url: `/fhir/Patient/_history?_since=${encodeURIComponent(middle)}` })).json();
  t.same(
    since.entry.map((e: any) => `${e.resource.id}/${e.resource.meta.versionId}`).sort(),
    [`${a.id}/2`, `${b.id}/1`].sort(),
    '_since keeps the versions written at or after the instant'
  );

  const at = (await request({ method: 'GET', url: `/fhir/Patient/_history?_at=${encodeURIComponent(middle)}` })).json();
  t.same(
    at.entry.map((e: any) => `${e.resource.id}/${e.resource.meta.versionId}`),
    [`${a.id}/1`],
    '_at keeps the versions current at that moment'
  );

  const day = middle.slice(0, 10);
  const atDay = (await request({ method: 'GET', url: `/fhir/Patient/_history?_at=${day}` })).json();
  t.equal(atDay.entry.length, 3, 'a date-precision _at covers the whole day');
});

t.test(`history paging with _count on ${engine}`, async (t) => {
  const { request } = await createTestApp(t);
  const id = 'paged';
  for (let i = 0; i < 12; i++) {
    await request({ method: 'PUT', url: `/fhir/Patient/${id}`, body: { ...patient(`V${i}`), id } });
  }
  const seen: string[] = [];
  let url: string | undefined = `/fhir/Patient/${id}/_history?_count=5`;
  let pages = 0;
  while (url) {
    const page = (await request({ method: 'GET', url })).json();
    pages++;
    t.equal(page.total, pages === 1 ? 12 : 13, "total counts the versions at the time of the page");
    seen.push(...page.entry.map((e: any) => e.resource.meta.versionId));
    const next = page.link.find((l: any) => l.relation === 'next')?.url as string | undefined;
    url = next ? next.replace(/^https?:\/\/[^/]+/, '') : undefined;
    if (pages === 1) {
      // A write between pages must not shift what the next page holds.
      await request({ method: 'PUT', url: `/fhir/Patient/${id}`, body: { ...patient('New'), id } });
    }
  }
  t.equal(pages, 3);
  t.same(seen, ['12', '11', '10', '9', '8', '7', '6', '5', '4', '3', '2', '1'], 'every version once, newest first');
});
