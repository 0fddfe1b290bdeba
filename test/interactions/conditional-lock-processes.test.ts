/**
 * Conditional creates in three spellings of one identifier, sent at once to two server processes
 * (src/server.ts) on one PostgreSQL database, leave one Patient: the locks of
 * src/interactions/conditional-lock.ts live in the database, not in a process.
 *
 * PostgreSQL only: a PGlite data folder can be opened by one process at a time.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { adminToken, freePort, ServerProcess, serverDatabase } from '../helpers/server-process.js';

const SYSTEM = 'urn:test:conditional-lock-processes';
const adminUrl = process.env['DATABASE_URL'];

async function post(base: string, token: string, value: string, ifNoneExist: string): Promise<number> {
  const patient = { resourceType: 'Patient', identifier: [{ system: SYSTEM, value }], gender: 'unknown' };
  const response = await fetch(`${base}/fhir/Patient`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', 'if-none-exist': ifNoneExist },
    body: JSON.stringify(patient),
  });
  await response.arrayBuffer();
  return response.status;
}

if (!adminUrl) {
  t.plan(0, 'two server processes cannot share a PGlite data folder; this runs on PostgreSQL only (DATABASE_URL)');
} else {
  t.test('two server processes on one PostgreSQL database serialise mixed spellings', async (t) => {
    // A copy of the template database: the starts below migrate and install nothing.
    const dataDir = mkdtempSync(join(tmpdir(), 'schakel-lock-'));
    const database = await serverDatabase(dataDir);
    const env = database.env;
    const servers: ServerProcess[] = [];
    t.teardown(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      rmSync(dataDir, { recursive: true, force: true });
      await database.destroy();
    });
    // One after the other: the first writes the demo keys both use.
    for (let n = 0; n < 2; n++) {
      const server = new ServerProcess(await freePort(), env);
      servers.push(server);
      t.ok(await server.listening(240_000), `process ${n + 1} serves`);
    }
    const [a, b] = servers as [ServerProcess, ServerProcess];
    // A token names the server that issued it (its audience): one per process.
    const token = await adminToken(a.base, dataDir);
    const tokenB = await adminToken(b.base, dataDir);
    for (let round = 0; round < 5; round++) {
      const value = `proc-${round}-${randomUUID()}`;
      const spellings = [`identifier=${SYSTEM}|${value}`, `identifier=${value}`, `identifier=${SYSTEM}|${value}&gender=unknown`];
      const statuses = await Promise.all(
        Array.from({ length: 40 }, (_, n) => n % 2 === 0 ? post(a.base, token, value, spellings[n % 3] as string) : post(b.base, tokenB, value, spellings[n % 3] as string))
      );
      const counts: Record<number, number> = {};
      statuses.forEach((s) => (counts[s] = (counts[s] ?? 0) + 1));
      t.same(
        counts,
        { 201: 1, 200: 39 },
        `round ${round}: one 201 and 39 200s across both processes`
      );
      const search = await fetch(`${a.base}/fhir/Patient?identifier=${SYSTEM}|${value}&_count=100&_elements=id`, { headers: { authorization: `Bearer ${token}` } });
      const bundle = (await search.json()) as { entry?: unknown[] };
      t.equal(bundle.entry?.length ?? 0, 1, `round ${round}: one Patient stored`);
    }
  });
}
