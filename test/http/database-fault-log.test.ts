/**
 * While the database is away every request answers 503; the log gets the first one of each fault
 * kind in full (with its request id) and then one count per interval, not a line per request
 * (src/logging/fault-log-limiter.ts). The outage is injected at the Database port: the real
 * connection faults are exercised with a real PostgreSQL in test/storage/database-faults.test.ts.
 */
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { DatabaseUnavailableError } from '../../src/storage/connection-faults.js';
import type { Database } from '../../src/storage/database.js';
import { engine, injector, testConfig } from '../helpers/app.js';
import { testAuthSetup } from '../helpers/auth.js';
import { createTestDatabase } from '../helpers/database.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function refused(): DatabaseUnavailableError {
  return new DatabaseUnavailableError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'no');
}

/** The database, or (while `away()`) a server that refuses every connection. */
function awayWhen(db: Database, away: () => boolean): Database {
  return {
    engine: db.engine,
    close: () => db.close(),
    exec: async (sql) => (away() ? Promise.reject(refused()) : db.exec(sql)),
    query: async (sql, params) => (away() ? Promise.reject(refused()) : db.query(sql, params)),
    transaction: async (fn) => (away() ? Promise.reject(refused()) : db.transaction(fn)),
  };
}

interface LogLine {
  readonly msg: string;
  readonly reqId?: string;
  readonly reason?: string;
  readonly suppressed?: number;
}

t.test(`database faults are logged once per kind, then counted, on ${engine}`, async (t) => {
  const database = await createTestDatabase();
  const lines: LogLine[] = [];
  let away = false;
  const app = await buildApp({
    config: testConfig({ LOG_LEVEL: 'warn', DATABASE_FAULT_LOG_INTERVAL_SECONDS: '1' }),
    db: awayWhen(database.db, () => away),
    closeDatabase: false,
    auth: await testAuthSetup(),
    logStream: { write: (line) => lines.push(JSON.parse(line) as LogLine) },
  });
  t.teardown(async () => {
    await app.close();
    await database.destroy();
  });
  const request = injector(app);
  t.equal((await request({ method: 'GET', url: '/fhir/Patient?_count=1' })).statusCode, 200, 'served while the database is there');

  away = true;
  const faultLines = (): LogLine[] => lines.filter((l) => l.msg.startsWith('database unavailable'));
  const first = await Promise.all(
    Array.from({ length: 20 }, (_, n) => request({ method: 'GET', url: '/fhir/Patient?_count=1', headers: { 'x-request-id': `outage-${n}` } }))
  );
  t.same(
    first.map((r) => [r.statusCode, r.json().issue?.[0]?.code]),
    Array(20).fill([503, 'transient']),
    'every request answers 503 transient'
  );
  t.equal(faultLines().length, 1, 'twenty 503s, one warn line');
  t.match(faultLines()[0], { reason: 'connection refused', reqId: /^outage-\d+$/ }, 'the first names its fault kind and request id');

  await sleep(1500);
  t.same(
    faultLines().slice(1).map((l) => [l.reason, l.suppressed]),
    [['connection refused', 19]],
    'one summary after the interval counts the other 19'
  );

  // A quiet interval closes the window: the next fault is logged in full again.
  await sleep(1500);
  const later = await request({ method: 'GET', url: '/fhir/Patient?_count=1', headers: { 'x-request-id': 'outage-later' } });
  t.equal(later.statusCode, 503, 'the database is still away');
  t.match(faultLines().at(-1), { reqId: 'outage-later', reason: 'connection refused' }, 'a fault after a quiet interval is logged in full');
  t.equal(faultLines().length, 3, 'and nothing else was logged in between');
  away = false;
});
