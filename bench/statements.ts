/**
 * The SQL statements one request runs: `npx tsx bench/statements.ts` (PGlite; PostgreSQL with
 * DATABASE_URL). For a system token and a user token (the demo GP, in care of the patient) it
 * prints each statement of a create, a read, an identifier search and an Observation search by
 * subject sorted by date, so that round trips can be counted and folded. BEGIN/COMMIT of a write
 * transaction are not listed (the wrapper sees only statements).
 */
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { createScratchDatabase } from '../test/helpers/database.js';
import { tokenFor } from '../test/helpers/auth.js';
import { careScenario } from '../test/helpers/care-scenario.js';
import { injector } from '../test/helpers/app.js';
import { benchAuth } from './bench-auth.js';
import { recording } from './search.js';

const engine = process.env['DATABASE_URL'] ? 'postgres' : 'pglite';
const scratch = await createScratchDatabase(engine);
const recorder = recording(scratch.db);
const config = loadConfig({ LOG_LEVEL: 'silent', SEED_FIXTURES: 'false', DATA_DIR: 'memory://', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' });
const app = await buildApp({ config, db: recorder.db, closeDatabase: false, auth: await benchAuth() });
try {
  const request = injector(app);
  await careScenario({ app, request } as Parameters<typeof careScenario>[0]);
  for (const who of ['admin', 'gp'] as const) {
    const authorization = `Bearer ${await tokenFor(app, who)}`;
    const call = async (label: string, method: 'GET' | 'POST', url: string, body?: unknown): Promise<void> => {
      await request({ method, url, body, headers: { authorization } }); // warm: caches filled as in steady state
      recorder.start();
      const response = await request({ method, url, body, headers: { authorization } });
      const statements = recorder.stop();
      process.stdout.write(`\n## ${who} ${label}: ${response.statusCode}, ${statements.length} statements\n`);
      for (const s of statements) {
        process.stdout.write(`- ${s.sql.replace(/\s+/g, ' ').slice(0, 160)}\n`);
      }
    };
    const patient = { resourceType: 'Patient', identifier: [{ system: 'urn:bench', value: `${who}-1` }], name: [{ family: 'Bench' }] };
    await call('create Patient', 'POST', '/fhir/Patient', patient);
    await call('read Patient', 'GET', '/fhir/Patient/p-vis');
    await call('search Patient?identifier', 'GET', '/fhir/Patient?identifier=urn:bench|admin-1');
    await call('search Observation?subject&_sort=-date', 'GET', '/fhir/Observation?subject=Patient/p-vis&_sort=-date&_count=20');
  }
} finally {
  await app.close();
  await scratch.destroy();
}
