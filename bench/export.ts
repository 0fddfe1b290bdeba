/**
 * Bulk Data export benchmark: loads the care-domain data set (care-data.ts, `--size` resources,
 * 100,000 by default), then runs a system-level `$export` through the HTTP stack: kick-off, one
 * runner pass (bulk-export/export-runner.ts), the manifest and every file downloaded. Prints
 * resources/s of the export and of the downloads, and the peak RSS sampled during the export,
 * to show that memory does not grow with the size of the set (pages and file parts, never all).
 * The load writes current resource rows only (what an export reads). `--pseudonymize` exports with schakel-pseudonymize=true.
 */
import type { Resource } from '@medplum/fhirtypes';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { loadR4Definitions } from '../src/fhir/definitions.js';
import type { Database, EngineName } from '../src/storage/database.js';
import { createScratchDatabase } from '../test/helpers/database.js';
import { benchAuth, benchToken } from './bench-auth.js';
import { organizations, PER_PATIENT, patientRecord, testBsns } from './care-data.js';

interface Options {
  readonly size: number;
  readonly engines: EngineName[];
  readonly pseudonymize: boolean;
}

const MB = 1024 * 1024;

/**
 * Current rows only: an export reads the resource table and nothing else (no search index, no
 * history), so the load skips them (bulk-load.ts writes all, at many times the cost).
 */
async function bulkLoad(db: Database, resources: readonly Resource[]): Promise<void> {
  const now = new Date().toISOString();
  await db.query(
    `INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content)
     SELECT t, i, 1, $3::timestamptz, false, c FROM unnest($1::text[], $2::text[], $4::text[]) AS v(t, i, c)`,
    [
      resources.map((r) => r.resourceType),
      resources.map((r) => r.id ?? ''),
      now,
      resources.map((r) => JSON.stringify({ ...r, meta: { versionId: '1', lastUpdated: now } })),
    ]
  );
}

async function load(db: Database, size: number): Promise<number> {
  const patients = Math.ceil(size / PER_PATIENT);
  const bsns = testBsns();
  await bulkLoad(db, organizations());
  let batch: Resource[] = [];
  for (let i = 0; i < patients; i++) {
    const bsn = bsns.next().value;
    if (bsn === undefined) {
      throw new Error('Ran out of test BSNs: lower --size');
    }
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
  const [count] = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM resource WHERE NOT deleted');
  return Number(count?.n ?? 0);
}

/** Samples RSS every 20 ms until stopped; answers the peak. */
function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

export async function exportBench(options: Options): Promise<void> {
  loadR4Definitions();
  for (const engine of options.engines) {
    const scratch = await createScratchDatabase(engine);
    try {
      process.stderr.write(`${engine}: loading ${options.size} resources\n`);
      const stored = await load(scratch.db, options.size);
      const config = loadConfig({
        LOG_LEVEL: 'silent',
        SEED_FIXTURES: 'false',
        DATA_DIR: 'memory://',
        EXPORT_POLL_MS: '0',
        // app.inject buffers each whole file in this process: the event-loop check of the load
        // shedding would take that for overload (as in test/helpers/app.ts).
        OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
        EXPORT_PSEUDONYM_KEY: 'bench-pseudonym-key-0123456789abcdef',
      });
      const app = await buildApp({ config, db: scratch.db, closeDatabase: false, auth: await benchAuth() });
      try {
        const authorization = await benchToken(app);
        global.gc?.();
        const before = process.memoryUsage.rss();
        const sampler = rssSampler();
        const began = performance.now();
        const kickoff = await app.inject({
          method: 'GET',
          url: `/fhir/$export${options.pseudonymize ? '?schakel-pseudonymize=true' : ''}`,
          headers: { authorization, prefer: 'respond-async' },
        });
        if (kickoff.statusCode !== 202) {
          throw new Error(`kick-off answered ${kickoff.statusCode}: ${kickoff.body}`);
        }
        const status = new URL(String(kickoff.headers['content-location'])).pathname;
        await app.bulkExport.runOnce();
        const exported = performance.now();
        // The export alone; app.inject then buffers each whole file, which a real client would not.
        const exportPeak = sampler.stop();
        const downloadSampler = rssSampler();
        const done = await app.inject({ method: 'GET', url: status, headers: { authorization } });
        const manifest = done.json<{ output: Array<{ url: string; count: number }> }>();
        let lines = 0;
        let bytes = 0;
        for (const file of manifest.output) {
          const response = await app.inject({ method: 'GET', url: new URL(file.url).pathname, headers: { authorization } });
          if (response.statusCode !== 200) {
            throw new Error(`${file.url} answered ${response.statusCode}`);
          }
          bytes += response.rawPayload.length;
          lines += response.body.split('\n').filter((line) => line !== '').length;
        }
        const downloaded = performance.now();
        const downloadPeak = downloadSampler.stop();
        const counted = manifest.output.reduce((sum, file) => sum + file.count, 0);
        const exportSeconds = (exported - began) / 1000;
        const downloadSeconds = (downloaded - exported) / 1000;
        console.log(
          JSON.stringify({
            engine,
            pseudonymize: options.pseudonymize,
            stored,
            exported: counted,
            downloadedLines: lines,
            files: manifest.output.length,
            megabytes: Math.round(bytes / MB),
            exportSeconds: Number(exportSeconds.toFixed(1)),
            exportResourcesPerSecond: Math.round(counted / exportSeconds),
            downloadResourcesPerSecond: Math.round(lines / downloadSeconds),
            rssBeforeMB: Math.round(before / MB),
            exportPeakRssMB: Math.round(exportPeak / MB),
            downloadPeakRssMB: Math.round(downloadPeak / MB),
          })
        );
      } finally {
        await app.close();
      }
    } finally {
      await scratch.destroy();
    }
  }
}
