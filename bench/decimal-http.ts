/**
 * Request cost of create, read and search of Observations through the whole HTTP stack on PGlite,
 * with decimals written plainly (1.5) or with a precision JS does not keep (1.50):
 * `npx tsx bench/decimal-http.ts [--iterations N]`. Run it on two checkouts to compare them.
 */
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { createScratchDatabase } from '../test/helpers/database.js';
import { benchAuth, benchToken } from './bench-auth.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '300' } } });
const iterations = Number(values.iterations);

function observation(value: string, n: number): string {
  const quantity = `{"value":${value},"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}`;
  const components = Array.from({ length: 8 }, (_, i) => `{"code":{"coding":[{"system":"http://loinc.org","code":"${1000 + i}-${i}"}]},"valueQuantity":${quantity}}`);
  return (
    `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"bench-${value}"}]},` +
    `"effectiveDateTime":"2026-12-01T08:30:00+01:00","issued":"2026-12-01T10:00:${String(n % 60).padStart(2, '0')}Z",` +
    `"valueQuantity":${quantity},"referenceRange":[{"low":${quantity},"high":${quantity}}],"component":[${components.join(',')}]}`
  );
}

const scratch = await createScratchDatabase('pglite');
const config = loadConfig({ LOG_LEVEL: 'silent', SEED_FIXTURES: 'false', DATA_DIR: 'memory://', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' });
const app = await buildApp({ config, db: scratch.db, closeDatabase: false, auth: await benchAuth() });
const authorization = await benchToken(app);

async function mean(label: string, run: (i: number) => Promise<{ statusCode: number }>): Promise<void> {
  for (let i = 0; i < 20; i++) await run(i);
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const res = await run(i);
    if (res.statusCode >= 300) {
      throw new Error(`${label}: HTTP ${res.statusCode}`);
    }
  }
  console.log(`${label.padEnd(40)} ${((performance.now() - start) / iterations).toFixed(3).padStart(8)} ms`);
}

try {
  for (const value of ['1.5', '1.50']) {
    const ids: string[] = [];
    const headers = { 'content-type': 'application/fhir+json', authorization, prefer: 'return=representation' };
    await mean(`create (value ${value})`, async (i) => {
      const res = await app.inject({ method: 'POST', url: '/fhir/Observation', headers, payload: observation(value, i) });
      ids.push(String(res.json<{ id: string }>().id));
      return res;
    });
    await mean(`read (value ${value})`, (i) => app.inject({ method: 'GET', url: `/fhir/Observation/${ids[i % ids.length] ?? ''}`, headers: { authorization } }));
    await mean(`search, 50 a page (value ${value})`, () =>
      app.inject({ method: 'GET', url: `/fhir/Observation?code=http://loinc.org|bench-${value}&_count=50`, headers: { authorization } })
    );
  }
} finally {
  await app.close();
  await scratch.destroy();
}
