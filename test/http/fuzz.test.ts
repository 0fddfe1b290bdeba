// Seeded fuzz over the HTTP API (generators in test/helpers/fuzz-cases.ts): no answer is a 5xx,
// no body carries a stack trace or SQL, and input that must be refused gets a 4xx OperationOutcome.
// FUZZ_SEED and FUZZ_RUNS replay or widen the run (`npm run fuzz` runs 10,000 cases);
// FUZZ_SURVEY=1 runs every case and lists all failures by category instead of stopping at the first.
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import t from 'tap';
import { createTestApp, engine } from '../helpers/app.js';
import { fuzzCase, judge, type FuzzCase, type FuzzFixture } from '../helpers/fuzz-cases.js';

const seed = Number(process.env['FUZZ_SEED'] ?? 20_261_205);
const numRuns = Number(process.env['FUZZ_RUNS'] ?? 700);
const survey = process.env['FUZZ_SURVEY'] === '1';

t.test(`seeded fuzz of the HTTP API on ${engine} (seed ${seed}, ${numRuns} cases)`, async (t) => {
  const { request } = await createTestApp(t, { RATE_LIMIT_PER_MINUTE: '10000000' });
  const created = async (body: unknown): Promise<string> => {
    const response = await request({ method: 'POST', url: `/fhir/${(body as { resourceType: string }).resourceType}`, body });
    t.equal(response.statusCode, 201, `fixture ${response.body.slice(0, 200)}`);
    return response.json().id as string;
  };
  const patientId = await created({ resourceType: 'Patient', name: [{ family: 'Fuzz', given: ['Vast'] }], birthDate: '1970-01-01' });
  const fixture: FuzzFixture = {
    patientId,
    patchTargetId: await created({ resourceType: 'Patient', name: [{ family: 'Doel' }], gender: 'female' }),
    carePlanId: await created({ resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: `Patient/${patientId}` }, period: { start: '2024-01-01' } }),
  };

  const run = async (c: FuzzCase): Promise<string[]> => {
    const response = await request({ method: c.method, url: c.url, headers: c.headers, ...(c.payload !== undefined ? { body: c.payload } : {}) });
    return judge(c, response.statusCode, response.body).map((p) => `${p}: ${response.body.slice(0, 300)}`);
  };

  if (survey) {
    const cases = fc.sample(fuzzCase(fixture), { seed, numRuns });
    const failures = new Map<string, string[]>();
    for (const c of cases) {
      const problems = await run(c);
      if (problems.length > 0) {
        const list = failures.get(c.category) ?? [];
        list.push(`${c.method} ${c.url} [${c.label.slice(0, 300)}] -> ${problems.join('; ')}`);
        failures.set(c.category, list);
      }
    }
    const report = [...failures].map(([category, list]) => `${category}: ${list.length} failures\n${list.map((l) => `  ${l}`).join('\n')}`);
    writeFileSync(process.env['FUZZ_SURVEY_FILE'] ?? 'fuzz-survey.txt', `fuzz survey, seed ${seed}, ${cases.length} cases on ${engine}\n${report.join('\n')}\n`);
    t.equal([...failures.values()].flat().length, 0, `${cases.length} cases without failures`);
    return;
  }

  const start = Date.now();
  await fc.assert(
    fc.asyncProperty(fuzzCase(fixture), async (c) => {
      const problems = await run(c);
      if (problems.length > 0) {
        throw new Error(`${c.category}: ${c.method} ${c.url} [${c.label}] -> ${problems.join('; ')}`);
      }
    }),
    { seed, numRuns, endOnFailure: true, verbose: true }
  );
  t.pass(`${numRuns} cases in ${Math.round((Date.now() - start) / 1000)} s without a 5xx, a stack trace, or an accepted must-refuse`);
});
