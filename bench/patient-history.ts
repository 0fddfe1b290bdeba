/**
 * One large patient-history transaction (the size Synthea writes for one patient's record):
 * `npm run bench -- patient-history [--entries 5000] [--engine pglite|postgres]`. Posts the Bundle
 * in-process through app.inject and reports wall time, the peak of heap used above the idle
 * heap (sampled every 5 ms, and after each phase, with the Bundle text already in memory, as the
 * server holds the request bytes), that peak per entry, and the growth of the process's peak RSS.
 * Run it with `node --expose-gc` (npm run bench passes it) so the idle heap is measured after a
 * full collection; each engine is best run in its own process, as peak RSS only grows.
 * A benchmark, not a test: the numbers depend on the machine; compare runs on the same one.
 */
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import type { EngineName } from '../src/storage/database.js';
import { createScratchDatabase } from '../test/helpers/database.js';
import { patientHistoryBundle } from '../test/helpers/patient-history.js';
import { benchAuth, benchToken } from './bench-auth.js';

export interface PatientHistoryBenchOptions {
  readonly entries: number;
  readonly engines: readonly EngineName[];
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
const collect = (): void => (globalThis as { gc?: () => void }).gc?.();

async function onEngine(engine: EngineName, entries: number) {
  const scratch = await createScratchDatabase(engine);
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    SEED_FIXTURES: 'false',
    DATA_DIR: 'memory://',
    MAX_BUNDLE_ENTRIES: String(Math.max(entries, 10_000)),
    BODY_LIMIT: String(Math.max(50 * 1024 * 1024, entries * 8 * 1024)),
  });
  const app = await buildApp({ config, db: scratch.db, closeDatabase: false, auth: await benchAuth() });
  try {
    const authorization = await benchToken(app);
    // A small transaction first, so code paths are compiled and caches warm.
    const warm = patientHistoryBundle(20);
    await app.inject({ method: 'POST', url: '/fhir', headers: { 'content-type': 'application/fhir+json', authorization }, payload: warm.text });
    const bundle = patientHistoryBundle(entries);
    collect();
    const idle = process.memoryUsage();
    const rssPeakBefore = process.resourceUsage().maxRSS * 1024;
    let peakHeap = idle.heapUsed;
    const sampler = setInterval(() => {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }, 5);
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const res = await app.inject({ method: 'POST', url: '/fhir', headers: { 'content-type': 'application/fhir+json', authorization }, payload: bundle.text });
    const ms = performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    clearInterval(sampler);
    if (res.statusCode !== 200) {
      throw new Error(`${engine}: HTTP ${res.statusCode} ${res.body.slice(0, 500)}`);
    }
    const rssPeakAfter = process.resourceUsage().maxRSS * 1024;
    return {
      engine,
      entries,
      bundle_mb: mb(Buffer.byteLength(bundle.text)),
      response_mb: mb(res.rawPayload.length),
      ms: Math.round(ms),
      // This process's CPU time (user + system): steadier than wall time on a shared machine.
      // PostgreSQL's own work runs in its server and is not in it; PGlite's is.
      cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
      heap_peak_delta_mb: mb(peakHeap - idle.heapUsed),
      heap_kb_per_entry: Math.round((peakHeap - idle.heapUsed) / 1024 / entries),
      rss_peak_growth_mb: mb(rssPeakAfter - rssPeakBefore),
    };
  } finally {
    await app.close();
    await scratch.destroy();
  }
}

export async function patientHistoryBench(options: PatientHistoryBenchOptions): Promise<void> {
  for (const engine of options.engines) {
    process.stdout.write(`${JSON.stringify(await onEngine(engine, options.entries))}\n`);
  }
}
