/**
 * What one search may cost: `_count` above MAX_PAGE_SIZE is reduced and said so, included
 * resources stop at SEARCH_MAX_INCLUDES and the page says what was cut, and a search past
 * SEARCH_STATEMENT_TIMEOUT_MS answers 503 `too-costly` with Retry-After, never 500.
 */
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { assertIssue } from '../helpers/outcome.js';

interface Entry {
  resource: { resourceType: string; id: string; issue?: Array<{ severity: string; code: string; expression?: string[] }> };
  search?: { mode?: string };
}

function entries(body: string): Entry[] {
  return ((JSON.parse(body) as { entry?: Entry[] }).entry ?? []);
}

function outcomeEntry(list: Entry[]): Entry | undefined {
  return list.find((e) => e.search?.mode === 'outcome');
}

t.test(`page size and include caps on ${engine}`, async (t) => {
  const { request } = await createTestApp(t, { DEFAULT_PAGE_SIZE: '5', MAX_PAGE_SIZE: '5', SEARCH_MAX_INCLUDES: '4' });
  const entry = [
    ...Array.from({ length: 3 }, (_, i) => ({
      resource: { resourceType: 'Patient', id: `lim-p${i}`, name: [{ family: 'Limits' }] },
      request: { method: 'PUT', url: `Patient/lim-p${i}` },
    })),
    ...Array.from({ length: 9 }, (_, i) => ({
      resource: { resourceType: 'Observation', id: `lim-o${i}`, status: 'final', code: { text: 'limit' }, subject: { reference: `Patient/lim-p${i % 3}` } },
      request: { method: 'PUT', url: `Observation/lim-o${i}` },
    })),
  ];
  const seeded = await request({ method: 'POST', url: '/fhir', body: { resourceType: 'Bundle', type: 'transaction', entry } });
  t.equal(seeded.statusCode, 200);

  t.test('_count above the maximum is reduced and the Bundle says so', async (t) => {
    const response = await request({ method: 'GET', url: '/fhir/Observation?code:text=limit&_count=1000' });
    t.equal(response.statusCode, 200);
    const list = entries(response.body);
    t.equal(list.filter((e) => e.search?.mode === 'match').length, 5, 'one page of MAX_PAGE_SIZE');
    const outcome = outcomeEntry(list);
    t.equal(outcome?.resource.resourceType, 'OperationOutcome');
    t.same(
      outcome?.resource.issue?.map((i) => [i.severity, i.code, i.expression]),
      [['warning', 'too-costly', ['_count']]],
      'a warning names _count'
    );
    const next = (JSON.parse(response.body) as { link: Array<{ relation: string; url: string }> }).link.find((l) => l.relation === 'next');
    t.equal(new URL(next?.url ?? 'http://x/').searchParams.get('_count'), '5', 'the next link asks for the page size in use');
    const within = await request({ method: 'GET', url: '/fhir/Observation?code:text=limit&_count=5' });
    t.equal(outcomeEntry(entries(within.body)), undefined, 'no outcome entry when _count fits');
  });

  t.test('_revinclude stops at the include cap and the Bundle says what was cut', async (t) => {
    const response = await request({ method: 'GET', url: '/fhir/Patient?name=Limits&_revinclude=Observation:subject' });
    t.equal(response.statusCode, 200);
    const list = entries(response.body);
    t.equal(list.filter((e) => e.search?.mode === 'match').length, 3, 'every match is there');
    t.equal(list.filter((e) => e.search?.mode === 'include').length, 4, 'included resources stop at SEARCH_MAX_INCLUDES');
    t.same(
      outcomeEntry(list)?.resource.issue?.map((i) => [i.severity, i.code, i.expression]),
      [['warning', 'too-costly', ['_include', '_revinclude']]],
      'a warning says includes were cut'
    );
    const few = await request({ method: 'GET', url: '/fhir/Patient?_id=lim-p0&_revinclude=Observation:subject' });
    const fewList = entries(few.body);
    t.equal(fewList.filter((e) => e.search?.mode === 'include').length, 3, 'all three included when they fit');
    t.equal(outcomeEntry(fewList), undefined, 'no warning when nothing was cut');
  });

  t.test('_include stops at the cap too', async (t) => {
    const response = await request({ method: 'GET', url: '/fhir/Observation?code:text=limit&_count=5&_include=Observation:subject' });
    const list = entries(response.body);
    t.equal(list.filter((e) => e.search?.mode === 'include').length, 3, 'three distinct patients fit under the cap');
    t.equal(outcomeEntry(list), undefined);
  });
});

t.test(`a search past its time limit answers 503 too-costly on ${engine}`, async (t) => {
  const { request } = await createTestApp(t, { SEARCH_STATEMENT_TIMEOUT_MS: '1' });
  const entry = Array.from({ length: 40 }, (_, i) => ({
    resource: { resourceType: 'Observation', id: `slow-o${i}`, status: 'final', code: { text: `slow ${i}` }, subject: { reference: `Patient/slow-p${i % 4}` } },
    request: { method: 'PUT', url: `Observation/slow-o${i}` },
  }));
  const patients = Array.from({ length: 4 }, (_, i) => ({
    resource: { resourceType: 'Patient', id: `slow-p${i}`, name: [{ family: 'Slow' }] },
    request: { method: 'PUT', url: `Patient/slow-p${i}` },
  }));
  const seeded = await request({ method: 'POST', url: '/fhir', body: { resourceType: 'Bundle', type: 'transaction', entry: [...patients, ...entry] } });
  t.equal(seeded.statusCode, 200);
  const response = await request({
    method: 'GET',
    url: '/fhir/Observation?subject.name=Slow&code:text=slow&_total=accurate&_include=Observation:subject&_revinclude:iterate=Observation:subject',
  });
  assertIssue(t, response, 503, 'too-costly');
  t.match(response.headers['retry-after'], /^\d+$/, 'Retry-After in seconds');
  const read = await request({ method: 'GET', url: '/fhir/Patient/slow-p0' });
  t.equal(read.statusCode, 200, 'reads are not bound by the search time limit');
});
