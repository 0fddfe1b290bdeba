// Keyset paging (src/search/paging.ts) as a property: for seeded random data and random sorts,
// following `next` to the end yields exactly the one-page result, in order, without duplicates,
// and following `previous` back from the last page yields the same pages in reverse.
// https://hl7.org/fhir/R4/http.html#paging
import t from 'tap';
import { createTestApp, engine, type TestApp } from '../helpers/app.js';
import { linkPath, search } from '../helpers/search.js';

/** mulberry32: a small seeded generator, so a failure names a reproducible case. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env['PAGING_PROPERTY_SEED'] ?? 20261205);
const SORTS = Number(process.env['PAGING_PROPERTY_SORTS'] ?? 30);
const LOINC = 'http://loinc.org';
const KEYS = ['_lastUpdated', '_id', 'date', 'status', 'value-quantity', 'code', 'subject'] as const;

/**
 * Observations written in Bundles of several entries, so that many share one lastUpdated with
 * each other and with the Provenance records of the same transaction; dates, values and codes
 * repeat and are sometimes missing.
 */
async function seedObservations(app: TestApp, random: () => number): Promise<number> {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  let count = 0;
  for (let bundle = 0; bundle < 6; bundle++) {
    const entries = [];
    const size = 2 + Math.floor(random() * 7);
    for (let i = 0; i < size; i++) {
      const id = `pp-${bundle}-${i}`;
      const observation: Record<string, unknown> = {
        resourceType: 'Observation',
        id,
        status: pick(['final', 'amended', 'preliminary']),
        code: { coding: [{ system: LOINC, code: pick(['8867-4', '8480-6', '29463-7']) }] },
      };
      if (random() < 0.8) {
        observation['effectiveDateTime'] = `2024-0${1 + Math.floor(random() * 3)}-0${1 + Math.floor(random() * 3)}`;
      }
      if (random() < 0.7) {
        observation['valueQuantity'] = { value: Math.floor(random() * 5), system: 'http://unitsofmeasure.org', code: '/min' };
      }
      if (random() < 0.7) {
        observation['subject'] = { reference: pick(['Patient/pp-a', 'Patient/pp-b']) };
      }
      entries.push({ fullUrl: `Observation/${id}`, resource: observation, request: { method: 'PUT', url: `Observation/${id}` } });
      count++;
    }
    const response = await app.request({ method: 'POST', url: '/fhir', body: { resourceType: 'Bundle', type: 'transaction', entry: entries } });
    if (response.statusCode !== 200) {
      throw new Error(`seeding transaction answered ${response.statusCode}: ${response.body}`);
    }
  }
  return count;
}

function randomSort(random: () => number): string {
  const keys = [...KEYS].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 3));
  return keys.map((key) => (random() < 0.5 ? `-${key}` : key)).join(',');
}

t.test(`keyset paging equals the unpaged result for random sorts on ${engine}`, async (t) => {
  const app = await createTestApp(t);
  for (const id of ['pp-a', 'pp-b']) {
    const response = await app.request({ method: 'PUT', url: `/fhir/Patient/${id}`, body: { resourceType: 'Patient', id } });
    t.equal(response.statusCode, 201);
  }
  const random = seeded(SEED);
  const total = await seedObservations(app, random);

  for (let n = 0; n < SORTS; n++) {
    const sort = randomSort(random);
    const count = 1 + Math.floor(random() * 6);
    const filter = random() < 0.3 ? 'status=final,amended&' : '';
    const label = `seed ${SEED} case ${n}: ${filter}_sort=${sort}&_count=${count}`;
    const whole = await search(app, `Observation?${filter}_sort=${sort}&_count=1000`);
    t.equal(whole.status, 200, label);
    if (filter === '') {
      t.equal(whole.ids.length, total, `${label}: the unpaged result holds every Observation`);
    }

    const pages: string[][] = [];
    let next: string | undefined = `/fhir/Observation?${filter}_sort=${sort}&_count=${count}`;
    let last: ReturnType<typeof linkPath>;
    while (next !== undefined && pages.length <= total) {
      const page = await search(app, next);
      t.equal(page.status, 200, label);
      t.ok(
        (page.body.entry ?? []).every((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'Observation'),
        `${label}: only Observations on page ${pages.length + 1}`
      );
      pages.push(page.ids);
      last = next;
      next = linkPath(page.body, 'next');
    }
    t.same(pages.flat(), whole.ids, `${label}: pages concatenate to the unpaged result`);

    // Back from the last page over `previous`: the same pages, in reverse.
    const back: string[][] = [];
    let previous: string | undefined = last;
    while (previous !== undefined && back.length <= pages.length) {
      const page = await search(app, previous);
      back.unshift(page.ids);
      previous = linkPath(page.body, 'previous');
    }
    t.same(back, pages, `${label}: previous links walk back over the same pages`);
  }
});
