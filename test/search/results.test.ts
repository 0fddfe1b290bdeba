// Result parameters, paging, compartment and system search, errors: https://hl7.org/fhir/R4/search.html
import t from 'tap';
import { adminAuthorization } from '../helpers/auth.js';
import { createTestApp, engine } from '../helpers/app.js';
import { ids, linkPath, put, search, type Json } from '../helpers/search.js';

const LOINC = 'http://loinc.org';

t.test(`sorting, paging and result parameters on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  await put(app, { resourceType: 'Patient', id: 'p1', name: [{ family: 'Jansen' }], text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Jansen</div>' }, gender: 'male', birthDate: '1950-01-01' });
  await put(app, { resourceType: 'Patient', id: 'p2', name: [{ family: 'Bakker' }], birthDate: '1960-01-01' });
  for (let i = 0; i < 25; i++) {
    await put(app, {
      resourceType: 'Observation',
      id: `o${String(i).padStart(2, '0')}`,
      status: i % 2 === 0 ? 'final' : 'amended',
      code: { coding: [{ system: LOINC, code: '8867-4' }] },
      subject: { reference: i < 20 ? 'Patient/p1' : 'Patient/p2' },
      // Dates repeat so that sorting needs the tie-breaker; o24 has none.
      ...(i < 24 ? { effectiveDateTime: `2024-01-${String(1 + (i % 10)).padStart(2, '0')}` } : {}),
      valueQuantity: { value: i, system: 'http://unitsofmeasure.org', code: '/min' },
    });
  }

  t.test('_sort on several keys, descending, missing values last', async (t) => {
    const result = await search(app, 'Observation?_sort=-date,_id&_count=100');
    const expected = Array.from({ length: 24 }, (_, i) => i)
      .sort((a, b) => (b % 10) - (a % 10) || a - b)
      .map((i) => `o${String(i).padStart(2, '0')}`);
    t.same(result.ids, [...expected, 'o24']);
    const ascending = await search(app, 'Observation?_sort=status,-value-quantity&_count=5');
    t.same(ascending.ids, ['o23', 'o21', 'o19', 'o17', 'o15'], 'amended before final, then highest value');
    const names = await search(app, 'Patient?_sort=family');
    t.same(names.ids, ['p2', 'p1']);
    const byId = await search(app, 'Patient?_sort=-_id');
    t.same(byId.ids, ['p2', 'p1']);
    t.same((await search(app, 'Patient?_sort=_lastUpdated')).ids, ['p1', 'p2']);
  });

  async function pageThrough(url: string, between?: (page: number) => Promise<void>): Promise<{ ids: string[]; pages: Json[] }> {
    const seen: string[] = [];
    const pages: Json[] = [];
    let next: string | undefined = `/fhir/${url}`;
    for (let page = 0; next !== undefined && page < 50; page++) {
      const result = await search(app, next);
      t.equal(result.status, 200);
      seen.push(...result.ids);
      pages.push(result.body);
      next = linkPath(result.body, 'next');
      await between?.(page);
    }
    return { ids: seen, pages };
  }

  t.test('paging to the end: no duplicate, no missing entry, also while writing', async (t) => {
    const all = (await search(app, 'Observation?_sort=-date&_count=100')).ids;
    t.equal(all.length, 25);
    const plain = await pageThrough('Observation?_count=7');
    t.same([...plain.ids].sort(), [...all].sort());
    t.equal(plain.pages.length, 4);

    const sorted = await pageThrough('Observation?_sort=-date&_count=4');
    t.same(sorted.ids, all, 'sorted pages concatenate to the sorted result');

    let extra = 0;
    const busy = await pageThrough('Observation?_sort=date&_count=6', async () => {
      // New matches before and after the cursor position must neither repeat nor shift entries.
      await put(app, { resourceType: 'Observation', id: `new${extra++}`, status: 'final', code: { coding: [{ system: LOINC, code: '8867-4' }] }, effectiveDateTime: extra % 2 ? '2023-01-01' : '2025-01-01' });
    });
    t.equal(new Set(busy.ids).size, busy.ids.length, 'no duplicates');
    t.same([...busy.ids].sort(), [...all].sort(), 'exactly the resources that existed at the first page');
    await put(app, { resourceType: 'Observation', id: 'o03', status: 'final', code: { coding: [{ system: LOINC, code: '8867-4' }] }, subject: { reference: 'Patient/p1' }, effectiveDateTime: '2024-01-04' });
    const afterUpdate = await pageThrough('Observation?subject=Patient/p1&_count=3');
    t.equal(new Set(afterUpdate.ids).size, 20, 'an updated resource keeps its place');
  });

  t.test('previous links walk back over the same pages', async (t) => {
    const first = await search(app, 'Observation?subject=Patient/p1&_sort=-value-quantity&_count=6');
    t.equal(linkPath(first.body, 'previous'), undefined);
    const second = await search(app, linkPath(first.body, 'next') as string);
    const third = await search(app, linkPath(second.body, 'next') as string);
    const back = await search(app, linkPath(third.body, 'previous') as string);
    t.same(back.ids, second.ids);
    const start = await search(app, linkPath(back.body, 'previous') as string);
    t.same(start.ids, first.ids);
    t.equal(linkPath(start.body, 'previous'), undefined, 'no previous link on the first page');
    t.match(linkPath(first.body, 'self'), /_count=6/);
    t.match(linkPath(second.body, 'first'), /^\/fhir\/Observation\?subject=Patient%2Fp1&_sort=-value-quantity&_count=6$/);
  });

  t.test('_total, _summary and _elements', async (t) => {
    let result = await search(app, 'Observation?subject=Patient/p1&_count=2&_total=accurate');
    t.equal(result.body.total, 20);
    t.equal(result.ids.length, 2);
    result = await search(app, 'Observation?subject=Patient/p1&_count=2&_total=none');
    t.equal(result.body.total, undefined);
    result = await search(app, 'Observation?subject=Patient/p1&_count=2&_total=estimate');
    t.type(result.body.total, 'number');
    result = await search(app, 'Observation?subject=Patient/p1&_count=2');
    t.equal(result.body.total, 20, 'below SEARCH_TOTAL_EXACT_LIMIT an exact total on every page (search/total.ts)');
    result = await search(app, 'Observation?subject=Patient/p2');
    t.equal(result.body.total, 5, 'a single page reports its size');
    result = await search(app, 'Observation?subject=Patient/p1&_summary=count');
    t.equal(result.body.total, 20);
    t.equal(result.body.entry, undefined);
    result = await search(app, 'Patient?_id=p1&_summary=true');
    const summary = result.body.entry[0].resource;
    t.same(Object.keys(summary).sort(), ['birthDate', 'gender', 'id', 'meta', 'name', 'resourceType']);
    t.ok(summary.meta.tag.some((tag: Json) => tag.code === 'SUBSETTED'));
    result = await search(app, 'Patient?_id=p1&_summary=data');
    t.equal(result.body.entry[0].resource.text, undefined);
    t.ok(result.body.entry[0].resource.name);
    result = await search(app, 'Patient?_id=p1&_summary=text');
    t.same(Object.keys(result.body.entry[0].resource).sort(), ['id', 'meta', 'resourceType', 'text']);
    result = await search(app, 'Observation?_id=o01&_elements=status,value');
    t.same(Object.keys(result.body.entry[0].resource).sort(), ['id', 'meta', 'resourceType', 'status', 'valueQuantity']);
    result = await search(app, 'Patient?_count=0');
    t.equal(result.body.entry, undefined);
  });

  t.test('compartment, system and POST search', async (t) => {
    t.same(await ids(app, 'Patient/p2/Observation'), ['o20', 'o21', 'o22', 'o23', 'o24']);
    t.same(await ids(app, 'Patient/p2/Observation?status=final'), ['o20', 'o22', 'o24']);
    t.same(await ids(app, 'Patient/p1/Patient'), ['p1']);
    const outside = await search(app, 'Patient/p1/Organization');
    t.equal(outside.status, 400);
    t.equal(outside.body.issue[0].code, 'not-supported');

    const system = await search(app, '/fhir?_type=Patient&_sort=_id');
    t.same(system.ids, ['p1', 'p2']);
    const everything = await search(app, '/fhir?_id=p1,o01');
    t.same([...everything.ids].sort(), ['o01', 'p1']);
    const mixed = await search(app, '/fhir?_type=Patient,Observation&_count=200');
    t.equal(mixed.ids.length, 2 + 25 + 5, 'both patients, the 25 observations and the 5 added while paging');
    t.equal((await search(app, '/fhir?_type=Patient,Observation&family=jansen')).status, 400, 'family is not on Observation');
    t.equal((await search(app, '/fhir?_type=Nothing')).status, 400);

    const posted = await app.app.inject({
      method: 'POST',
      url: '/fhir/Observation/_search',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: await adminAuthorization(app.app) },
      payload: 'subject=Patient%2Fp2&status=amended',
    });
    t.equal(posted.statusCode, 200);
    t.same(posted.json().entry.map((e: Json) => String(e.resource.id)).sort(), ['o21', 'o23']);
  });

  t.test('unknown and malformed parameters: 400, or ignored and reported with handling=lenient', async (t) => {
    const cases: Array<[string, string]> = [
      ['Patient?nothing=1', 'nothing'],
      ['Patient?birthdate=yesterday', 'birthdate'],
      ['Patient?birthdate=xx2020', 'birthdate'],
      ['Observation?value-quantity=lots', 'value-quantity'],
      ['Patient?family:fuzzy=x', 'family:fuzzy'],
      ['Patient?gender:in=https://schakel.test/ValueSet/unknown', 'gender:in'],
      ['Patient?gender:missing=maybe', 'gender:missing'],
      ['Patient?_sort=nothing', '_sort'],
      ['Patient?_count=many', '_count'],
      ['Patient?_summary=some', '_summary'],
      ['Patient?_total=all', '_total'],
      ['Patient?_cursor=bm9wZQ', '_cursor'],
      ['Observation?component-code-value-quantity=8480-6', 'component-code-value-quantity'],
      ['Patient?identifier:of-type=MR', 'identifier:of-type'],
    ];
    for (const [url, name] of cases) {
      const result = await search(app, url);
      t.equal(result.status, 400, url);
      t.equal(result.body.issue[0].expression?.[0], name, `${url} names ${name}`);
    }
    const lenient = await search(app, 'Patient?nothing=1&birthdate=yesterday&family=jansen', { prefer: 'handling=lenient' });
    t.equal(lenient.status, 200);
    t.same(lenient.ids, ['p1'], 'the valid criterion still applies');
    const outcome = lenient.body.entry.find((e: Json) => e.search.mode === 'outcome');
    t.same(outcome.resource.issue.map((i: Json): string[] => [String(i.severity), String(i.code), String(i.expression[0])]), [
      ['warning', 'not-supported', 'nothing'],
      ['warning', 'not-supported', 'birthdate'],
    ]);
    t.equal(linkPath(lenient.body, 'self'), '/fhir/Patient?family=jansen', 'links leave ignored parameters out');
  });

  t.test('the CapabilityStatement lists parameters, includes and revincludes', async (t) => {
    const statement = (await app.request({ method: 'GET', url: '/fhir/metadata' })).json();
    const observation = statement.rest[0].resource.find((r: Json) => r.type === 'Observation');
    const code = observation.searchParam.find((p: Json) => p.name === 'code');
    t.same([code.type, code.definition], ['token', 'http://hl7.org/fhir/SearchParameter/clinical-code']);
    t.ok(observation.searchParam.some((p: Json) => p.name === 'component-code-value-quantity' && p.type === 'composite'));
    t.ok(observation.searchInclude.includes('Observation:subject'));
    const patient = statement.rest[0].resource.find((r: Json) => r.type === 'Patient');
    t.ok(patient.searchRevInclude.includes('Task:patient'));
    t.notOk(patient.searchParam.some((p: Json) => p.name === '_text'), 'nothing that cannot be searched');
  });
});
