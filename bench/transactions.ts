/**
 * Transaction throughput: a 20-entry and a 100-entry transaction Bundle (1 Patient + N-1
 * Observations linked by urn:uuid, as ../shared/bench's transaction-20) posted in-process through
 * app.inject, so the figure is the service's own cost: body parsing, validation, planning, SQL,
 * response serialisation. Runs on embedded PGlite (a fresh data folder) and, when DATABASE_URL is
 * set, on a throwaway database of that PostgreSQL server.
 *
 *   npm run bench -- transactions                    # PGlite (and PostgreSQL when DATABASE_URL is set)
 *   npm run bench:transactions -- --seconds 20 --concurrency 4 --engines postgres
 *
 * Prints one JSON line per case (ops_per_s, resources_per_s, p50/p99 ms, SQL statements per
 * transaction) and a table on stderr.
 * A benchmark, not a test: the numbers depend on the machine; compare runs on the same one.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.js';
import { benchAuth, benchToken } from './bench-auth.js';
import { loadConfig } from '../src/config/config.js';
import type { Database, EngineName, Queryable } from '../src/storage/database.js';
import { createScratchDatabase } from '../test/helpers/database.js';

export interface TransactionBenchOptions {
  /** Seconds of measurement per case, after a short warm-up. */
  readonly seconds: number;
  /** Transactions in flight at once. */
  readonly concurrency: number;
  /** Entries per transaction, one case each. */
  readonly sizes: readonly number[];
  readonly engines: readonly EngineName[];
}

/** The database with a counter of the statements run on it, transactions included. */
function counting(db: Database): { db: Database; count: () => number } {
  let n = 0;
  const wrap = (q: Queryable): Queryable => ({
    query: (sql, params) => {
      n++;
      return q.query(sql, params);
    },
    exec: (sql) => q.exec(sql),
  });
  return {
    db: { ...db, ...wrap(db), engine: db.engine, transaction: (fn) => db.transaction((tx) => fn(wrap(tx))), close: () => db.close() },
    count: () => n,
  };
}

function bloodPressure(subject: string) {
  const systolic = 110 + Math.floor(Math.random() * 40);
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel' }] },
    subject: { reference: subject },
    effectiveDateTime: new Date().toISOString(),
    component: [
      { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: systolic, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
      { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: systolic - 40, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
    ],
  };
}

function transactionBundle(size: number, n: number): string {
  const patientUrn = `urn:uuid:${randomUUID()}`;
  const entry: unknown[] = [
    {
      fullUrl: patientUrn,
      resource: {
        resourceType: 'Patient',
        identifier: [{ system: 'urn:schakel-bench:patient', value: `tx-${size}-${n}-${randomBytes(4).toString('hex')}` }],
        name: [{ family: 'Bench', given: ['Transactie'] }],
        gender: 'female',
        birthDate: '1950-01-01',
      },
      request: { method: 'POST', url: 'Patient' },
    },
  ];
  for (let k = 1; k < size; k++) {
    entry.push({ fullUrl: `urn:uuid:${randomUUID()}`, resource: bloodPressure(patientUrn), request: { method: 'POST', url: 'Observation' } });
  }
  return JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry });
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const round = (x: number): number => Math.round(x * 100) / 100;

async function runCase(
  engine: string,
  app: Awaited<ReturnType<typeof buildApp>>,
  statements: () => number,
  size: number,
  options: TransactionBenchOptions
) {
  let n = 0;
  const post = async (): Promise<number> => {
    const payload = transactionBundle(size, n++);
    const start = performance.now();
    const res = await app.inject({ method: 'POST', url: '/fhir', headers: { 'content-type': 'application/fhir+json', authorization: await benchToken(app) }, payload });
    const ms = performance.now() - start;
    if (res.statusCode !== 200) {
      throw new Error(`${engine} ${size}: HTTP ${res.statusCode} ${res.body.slice(0, 300)}`);
    }
    return ms;
  };
  for (let i = 0; i < 3; i++) {
    await post();
  }
  const before = statements();
  await post();
  const perTransaction = statements() - before;
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < deadline) {
        latencies.push(await post());
      }
    })
  );
  const elapsed = (performance.now() - started) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    engine,
    entries: size,
    concurrency: options.concurrency,
    transactions: sorted.length,
    ops_per_s: round(sorted.length / elapsed),
    resources_per_s: round((sorted.length * size) / elapsed),
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted[sorted.length - 1] ?? NaN),
    sql_statements_per_transaction: perTransaction,
  };
}

async function onEngine(engine: EngineName, options: TransactionBenchOptions): Promise<Array<Awaited<ReturnType<typeof runCase>>>> {
  const scratch = await createScratchDatabase(engine);
  const config = loadConfig({ LOG_LEVEL: 'silent', SEED_FIXTURES: 'false', DATA_DIR: 'memory://' });
  const { db, count } = counting(scratch.db);
  const app = await buildApp({ config, db, closeDatabase: false, auth: await benchAuth() });
  try {
    const results = [];
    for (const size of options.sizes) {
      const result = await runCase(engine, app, count, size, options);
      process.stdout.write(`${JSON.stringify(result)}\n`);
      results.push(result);
    }
    return results;
  } finally {
    await app.close();
    await scratch.destroy();
  }
}

/** Runs every size on every engine; one JSON line per case on stdout, a table on stderr. */
export async function transactionBench(options: TransactionBenchOptions): Promise<void> {
  const all = [];
  for (const engine of options.engines) {
    all.push(...(await onEngine(engine, options)));
  }
  console.error('\nengine    entries  conc  tx/s     resources/s  p50 ms   p99 ms   statements/tx');
  for (const r of all) {
    console.error(
      `${r.engine.padEnd(9)} ${String(r.entries).padEnd(8)} ${String(r.concurrency).padEnd(5)} ${String(r.ops_per_s).padEnd(8)} ${String(r.resources_per_s).padEnd(12)} ${String(r.p50_ms).padEnd(8)} ${String(r.p99_ms).padEnd(8)} ${r.sql_statements_per_transaction}`
    );
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '1' },
      sizes: { type: 'string', default: '20,100' },
      engines: { type: 'string' },
    },
  });
  await transactionBench({
    seconds: Number(values.seconds),
    concurrency: Number(values.concurrency),
    sizes: (values.sizes ?? '20,100').split(',').map(Number),
    engines: (values.engines?.split(',') ?? (process.env['DATABASE_URL'] ? ['pglite', 'postgres'] : ['pglite'])) as EngineName[],
  });
}
