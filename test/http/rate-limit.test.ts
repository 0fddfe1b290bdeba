// The rate limit (http/rate-limit.ts): RateLimit-* headers, 429 as an OperationOutcome, one count
// shared by two nodes on one database (http/rate-limit-store.ts), and a database fault in the
// limiter answered by counting on the node alone, never by a 500.
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { injector, testConfig } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';
import { createTestDatabase, engine } from '../helpers/database.js';
import { startOfAWindow } from '../helpers/rate-limit-window.js';

const LIMIT = 4;

t.test(`the rate limit shared by two nodes on one ${engine} database`, async (t) => {
  const database = await createTestDatabase();
  const lines: string[] = [];
  // Explicit on both engines: the shared store is the default on PostgreSQL only.
  const config = testConfig({ RATE_LIMIT_PER_MINUTE: String(LIMIT), RATE_LIMIT_STORE: 'database', LOG_LEVEL: 'warn' });
  const apps: FastifyInstance[] = [];
  t.teardown(async () => {
    for (const app of apps) {
      await app.close();
    }
    await database.destroy();
  });
  // Two nodes: on PostgreSQL each with its own connection pool; PGlite is one embedded session.
  const secondDb = engine === 'postgres' ? await database.reopen() : database.db;
  for (const db of [database.db, secondDb]) {
    apps.push(await buildApp({ config, db, closeDatabase: false, auth: await testAuthSetup(), logStream: { write: (line) => lines.push(line) } }));
  }
  const [nodeA, nodeB] = apps.map((app) => injector(app)) as [ReturnType<typeof injector>, ReturnType<typeof injector>];

  await t.test('RateLimit headers on every answer, 429 with Retry-After and a throttled outcome beyond the limit, counted across both nodes', async (t) => {
    await startOfAWindow();
    const first = await nodeA({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'gp' });
    t.equal(first.statusCode, 200);
    t.equal(first.headers['ratelimit-limit'], String(LIMIT), 'RateLimit-Limit');
    t.equal(first.headers['ratelimit-remaining'], String(LIMIT - 1), 'RateLimit-Remaining');
    const reset = Number(first.headers['ratelimit-reset']);
    t.ok(reset >= 0 && reset <= 60, 'RateLimit-Reset: seconds until the minute window ends');

    const second = await nodeB({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'gp' });
    t.equal(second.statusCode, 200);
    t.equal(second.headers['ratelimit-remaining'], String(LIMIT - 2), 'the other node counts on from the first');
    t.equal((await nodeA({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'gp' })).headers['ratelimit-remaining'], String(LIMIT - 3));
    t.equal((await nodeB({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'gp' })).headers['ratelimit-remaining'], '0');

    for (const node of [nodeA, nodeB]) {
      const refused = await node({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'gp' });
      t.equal(refused.statusCode, 429, 'beyond the limit on either node');
      t.equal(refused.json().resourceType, 'OperationOutcome');
      t.equal(refused.json().issue[0].code, 'throttled');
      const retryAfter = Number(refused.headers['retry-after']);
      t.ok(retryAfter >= 1 && retryAfter <= 60, 'Retry-After in seconds');
      t.equal(refused.headers['ratelimit-remaining'], '0');
      t.equal(refused.headers['ratelimit-limit'], String(LIMIT));
    }
    const [row] = await database.db.query<{ hits: number }>(`SELECT hits FROM rate_limit_window WHERE key = 'client:gp' ORDER BY window_start DESC LIMIT 1`);
    t.ok((row?.hits ?? 0) >= LIMIT + 2, 'one counter row holds the hits of both nodes');
    const other = await nodeB({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'physio' });
    t.equal(other.statusCode, 200, 'another client system is not held back');
    t.equal(other.headers['ratelimit-remaining'], String(LIMIT - 1));
  });

  await t.test('probes and scrapes are not counted', async (t) => {
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      const statuses: number[] = [];
      for (let i = 0; i <= LIMIT; i++) {
        const response = await apps[0]!.inject({ method: 'GET', url });
        statuses.push(response.statusCode);
        t.notOk(response.headers['ratelimit-limit'], `${url}: no RateLimit headers`);
      }
      t.notOk(statuses.includes(429), `${url}: never throttled`);
    }
    const counted = await database.db.query(`SELECT 1 FROM rate_limit_window WHERE key LIKE 'ip:%'`);
    t.equal(counted.length, 0, 'no count was kept for them');
  });

  await t.test('ended windows are swept', async (t) => {
    await database.db.query(`INSERT INTO rate_limit_window (key, window_start, hits) VALUES ('client:old', now() - interval '10 minutes', 7)`);
    // A node sweeps once per window; a fresh node (its first count) sweeps at once.
    const third = await buildApp({ config, db: database.db, closeDatabase: false, auth: await testAuthSetup() });
    apps.push(third);
    t.equal((await injector(third)({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'nurse' })).statusCode, 200);
    const left = await database.db.query(`SELECT 1 FROM rate_limit_window WHERE key = 'client:old'`);
    t.equal(left.length, 0, 'the old window is gone');
  });

  await t.test('a database fault in the limiter: the node counts alone, no 500', async (t) => {
    await startOfAWindow();
    await database.db.exec('ALTER TABLE rate_limit_window RENAME TO rate_limit_window_away');
    try {
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT + 1; i++) {
        statuses.push((await nodeA({ method: 'GET', url: '/fhir/Patient?_count=1', as: 'rehab' })).statusCode);
      }
      t.same(statuses, [200, 200, 200, 200, 429], 'the per-node count still limits; nothing answers 500');
      const warned = lines.map((l) => JSON.parse(l) as { level: number; msg: string; code?: string }).filter((l) => l.msg.startsWith('rate limit store unavailable'));
      t.equal(warned.length, 1, 'one warn line, not one per request');
      t.equal(warned[0]?.code, '42P01', 'with the SQLSTATE');
      t.notMatch(lines.join('\n'), /client:rehab/, 'no key in the log');
    } finally {
      await database.db.exec('ALTER TABLE rate_limit_window_away RENAME TO rate_limit_window');
    }
  });
});
