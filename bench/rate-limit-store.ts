/**
 * Cost of the shared rate-limit count (http/rate-limit-store.ts) per request:
 * `DATABASE_URL=postgres://… npx tsx bench/rate-limit-store.ts [--requests 4000] [--concurrency 16]`.
 * On a scratch database, counts `requests` hits over 50 keys (client systems) one at a time and
 * `concurrency` at a time, next to a `SELECT 1` round trip as the floor, and prints the wall time
 * per count and this process's CPU per count; the PostgreSQL server's CPU is not included
 * (`--only count` or `--only select` runs one of the two, to measure the server around it).
 */
import { parseArgs } from 'node:util';
import { SharedRateLimitCounter } from '../src/http/rate-limit-store.js';
import type { Database } from '../src/storage/database.js';
import { createScratchDatabase } from '../test/helpers/database.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '4000' }, concurrency: { type: 'string', default: '16' }, only: { type: 'string' } } });
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const engine = process.env['DATABASE_URL'] ? 'postgres' : 'pglite';
const scratch = await createScratchDatabase(engine);
const db: Database = scratch.db;
const counter = new SharedRateLimitCounter(db, { log: { warn: (details, message) => process.stderr.write(`${message} ${JSON.stringify(details)}\n`) } });

async function measure(label: string, parallel: number, one: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await one(i);
  }
  const cpu = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < requests) {
        await one(next++);
      }
    })
  );
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  process.stdout.write(
    `${engine} ${label} x${parallel}: ${((wall / requests) * 1000).toFixed(0)} µs wall, ${((used.user + used.system) / requests).toFixed(0)} µs CPU per call, ${Math.round((requests / wall) * 1000)}/s\n`
  );
}

try {
  for (const parallel of [1, concurrency]) {
    if (values.only !== 'count') {
      await measure('SELECT 1', parallel, () => db.query('SELECT 1'));
    }
    if (values.only !== 'select') {
      await measure('count hit', parallel, (i) => counter.hit(`client:bench-${i % 50}`, 60_000));
    }
  }
} finally {
  await scratch.destroy();
}
