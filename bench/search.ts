/**
 * Search benchmark (docs/search.md): loads a care-domain data set of at least 100,000 resources and
 * measures its searches through the whole HTTP stack (app.inject): ops/s, p50 and p99 (docs/care-workflows.md
 * added the referrer's inbox and the joint logbook). Then it
 * prints EXPLAIN ANALYZE of the slowest search and fails when any plan scans a big table.
 */
import type { Resource } from '@medplum/fhirtypes';
import { buildApp } from '../src/app.js';
import { benchAuth, benchToken } from './bench-auth.js';
import { loadConfig } from '../src/config/config.js';
import { loadR4Definitions } from '../src/fhir/definitions.js';
import type { Database, EngineName, Queryable } from '../src/storage/database.js';
import { createScratchDatabase } from '../test/helpers/database.js';
import { bulkLoad } from './bulk-load.js';
import { BSN, ORGANIZATIONS, organizations, PER_PATIENT, patientRecord, testBsns } from './care-data.js';

interface Options {
  readonly size: number;
  readonly iterations: number;
  readonly engines: EngineName[];
}

interface Recorded {
  sql: string;
  params: readonly unknown[];
}

/** The database with a switch that records the statements a request runs. */
export function recording(db: Database): { db: Database; start(): void; stop(): Recorded[] } {
  let log: Recorded[] | undefined;
  const wrap = (q: Queryable): Queryable => ({
    query: (sql, params) => {
      log?.push({ sql, params: params ?? [] });
      return q.query(sql, params);
    },
    exec: (sql) => q.exec(sql),
  });
  const wrapped: Database = {
    engine: db.engine,
    ...wrap(db),
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    close: () => db.close(),
  };
  return {
    db: wrapped,
    start: () => {
      log = [];
    },
    stop: () => {
      const result = log ?? [];
      log = undefined;
      return result;
    },
  };
}

async function load(db: Database, size: number): Promise<{ patients: number; bsns: string[]; seconds: number }> {
  const started = performance.now();
  const patients = Math.ceil(size / PER_PATIENT);
  const bsns: string[] = [];
  const generator = testBsns();
  await bulkLoad(db, organizations());
  let batch: Resource[] = [];
  for (let i = 0; i < patients; i++) {
    const bsn = generator.next().value;
    if (bsn === undefined) {
      throw new Error('Ran out of test BSNs: lower --size');
    }
    bsns.push(bsn);
    batch.push(...patientRecord(i, bsn));
    if (batch.length >= 2000) {
      await bulkLoad(db, batch);
      batch = [];
      process.stderr.write(`\r  loaded ${(i + 1) * PER_PATIENT} resources`);
    }
  }
  if (batch.length > 0) {
    await bulkLoad(db, batch);
  }
  process.stderr.write('\n');
  await db.exec('ANALYZE');
  return { patients, bsns, seconds: (performance.now() - started) / 1000 };
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

export async function searchBench(options: Options): Promise<void> {
  loadR4Definitions();
  for (const engine of options.engines) {
    const opened = await createScratchDatabase(engine);
    const raw = opened.db;
    try {
      process.stderr.write(`${engine}: loading ${options.size} resources\n`);
      const loaded = await load(raw, options.size);
      const counts = await raw.query<{ n: string }>('SELECT count(*)::text AS n FROM resource');
      process.stderr.write(`${engine}: ${counts[0]?.n ?? '?'} resources in ${loaded.seconds.toFixed(1)} s\n`);
      const recorder = recording(raw);
      const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', SEED_FIXTURES: 'false', DATA_DIR: 'memory://' }), db: recorder.db, closeDatabase: false, auth: await benchAuth() });
      const authorization = await benchToken(app);
      const pick = (n: number) => (n * 7919) % loaded.patients;
      const searches: Record<string, (n: number) => string> = {
        'token: Patient?identifier': (n) => `/fhir/Patient?identifier=${BSN}|${loaded.bsns[pick(n)] ?? ''}`,
        'reference: Observation?subject&_sort=-date&_count=20': (n) => `/fhir/Observation?subject=Patient/pat-${pick(n)}&_sort=-date&_count=20`,
        'chain: Observation?subject:Patient.identifier': (n) => `/fhir/Observation?subject:Patient.identifier=${BSN}|${loaded.bsns[pick(n)] ?? ''}&_count=20`,
        'include: Task?patient&_include=Task:focus,Task:patient': (n) => `/fhir/Task?patient=Patient/pat-${pick(n)}&_include=Task:focus&_include=Task:patient`,
        'inbox: ServiceRequest?requester&status=active&_revinclude=Task:focus,Communication:based-on&_sort=-authored': (n) =>
          `/fhir/ServiceRequest?requester=PractitionerRole/role-gp-${pick(n) % ORGANIZATIONS}&status=active&_revinclude=Task:focus&_revinclude=Communication:based-on&_sort=-authored&_count=20`,
        'logbook: CarePlan/$logbook?_count=20': (n) => `/fhir/CarePlan/cp-${pick(n)}/$logbook?_count=20`,
        'logbook: Patient/$logbook?author-discipline&category': (n) => `/fhir/Patient/pat-${pick(n)}/$logbook?author-discipline=30.000&category=vital-signs&_count=20`,
      };
      const results: Array<{ name: string; p50: number; p99: number; opsPerSecond: number }> = [];
      for (const [name, url] of Object.entries(searches)) {
        for (let i = 0; i < 20; i++) {
          await app.inject({ method: 'GET', url: url(i + 100_000), headers: { authorization } });
        }
        const times: number[] = [];
        const began = performance.now();
        for (let i = 0; i < options.iterations; i++) {
          const t0 = performance.now();
          const response = await app.inject({ method: 'GET', url: url(i), headers: { authorization } });
          times.push(performance.now() - t0);
          const body = response.json<{ entry?: unknown[] }>();
          if (response.statusCode !== 200 || !body.entry?.length) {
            throw new Error(`${name} answered ${response.statusCode} with ${body.entry?.length ?? 0} entries`);
          }
        }
        const elapsed = (performance.now() - began) / 1000;
        times.sort((a, b) => a - b);
        const result = { name, p50: percentile(times, 50), p99: percentile(times, 99), opsPerSecond: options.iterations / elapsed };
        results.push(result);
        process.stdout.write(`${JSON.stringify({ engine, resources: Number(counts[0]?.n), search: name, ops_per_s: Math.round(result.opsPerSecond), p50_ms: +result.p50.toFixed(2), p99_ms: +result.p99.toFixed(2) })}\n`);
      }
      let seqScans = 0;
      const slowest = results.reduce((a, b) => (b.p50 > a.p50 ? b : a));
      for (const [name, url] of Object.entries(searches)) {
        recorder.start();
        await app.inject({ method: 'GET', url: url(7), headers: { authorization } });
        const statements = recorder.stop();
        // EXPLAIN ANALYZE runs what it explains: the request's own AuditEvent INSERT (docs/security.md) is
        // left out, it would be written twice (and it is no search).
        for (const statement of statements.filter((s) => !/\bINSERT INTO\b/i.test(s.sql))) {
          const plan = await raw.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS off) ${statement.sql}`, statement.params);
          const text = plan.map((row) => row['QUERY PLAN']).join('\n');
          const scans = text.match(/Seq Scan on (resource|resource_history|search_\w+)\b/g) ?? [];
          seqScans += scans.length;
          if (name === slowest.name || scans.length > 0) {
            process.stdout.write(`\n-- ${engine} ${name}${scans.length > 0 ? ' (SEQUENTIAL SCAN)' : ''}\n${statement.sql.replace(/\s+/g, ' ')}\n${text}\n`);
          }
        }
      }
      process.stdout.write(`\n${engine}: sequential scans on big tables: ${seqScans}\n\n`);
      await app.close();
      if (seqScans > 0) {
        process.exitCode = 1;
      }
    } finally {
      await opened.destroy();
    }
  }
}
