/**
 * Benchmarks (not timed tests): `npm run bench [-- search] [--size N] [--iterations N] [--engine pglite|postgres]`,
 * `npm run bench -- transactions [--seconds N] [--concurrency N] [--sizes 20,100]`,
 * `npm run bench -- measures [--patients N] [--iterations N]`,
 * `npm run bench -- patient-history [--entries N]` (one large transaction: time and memory),
 * `npm run bench -- notifications [--seconds N] [--rate N] [--concurrency N] [--rounds N] [--only latency|throughput]` (notification latency
 * and write throughput with 100 Subscriptions against none).
 * `npm run bench -- export [--size N] [--pseudonymize]` (Bulk Data export of N resources: resources/s and peak RSS).
 * Without --engine it runs on PGlite, and on PostgreSQL too when DATABASE_URL is set.
 */
import { parseArgs } from 'node:util';
import type { EngineName } from '../src/storage/database.js';
import { exportBench } from './export.js';
import { measuresBench } from './measures.js';
import { notificationBench } from './notifications.js';
import { patientHistoryBench } from './patient-history.js';
import { searchBench } from './search.js';
import { transactionBench } from './transactions.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    size: { type: 'string', default: '100000' },
    iterations: { type: 'string', default: '300' },
    engine: { type: 'string' },
    seconds: { type: 'string' },
    concurrency: { type: 'string' },
    rate: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '2' },
    sizes: { type: 'string', default: '20,100' },
    patients: { type: 'string', default: '5000' },
    entries: { type: 'string', default: '5000' },
    only: { type: 'string' },
    pseudonymize: { type: 'boolean', default: false },
  },
});

const command = positionals[0] ?? 'search';
const engines: EngineName[] = values.engine
  ? [values.engine as EngineName]
  : process.env['DATABASE_URL']
    ? ['pglite', 'postgres']
    : ['pglite'];

if (values.engine === 'postgres' && !process.env['DATABASE_URL']) {
  throw new Error('--engine postgres needs DATABASE_URL');
}

switch (command) {
  case 'search':
    await searchBench({ size: Number(values.size), iterations: Number(values.iterations), engines });
    break;
  case 'transactions':
    await transactionBench({
      seconds: Number(values.seconds ?? '10'),
      concurrency: Number(values.concurrency ?? '1'),
      sizes: values.sizes.split(',').map(Number),
      engines,
    });
    break;
  case 'measures':
    await measuresBench({ patients: Number(values.patients), iterations: Math.min(Number(values.iterations), 50), engines });
    break;
  case 'patient-history':
    await patientHistoryBench({ entries: Number(values.entries), engines });
    break;
  case 'notifications':
    await notificationBench({
      seconds: Number(values.seconds ?? '20'),
      rate: Number(values.rate),
      concurrency: Number(values.concurrency ?? '16'),
      rounds: Number(values.rounds),
      engines,
      ...(values.only === 'latency' || values.only === 'throughput' ? { only: values.only } : {}),
    });
    break;
  case 'export':
    await exportBench({ size: Number(values.size), engines, pseudonymize: values.pseudonymize });
    break;
  default:
    throw new Error(`Unknown benchmark "${command}"; try: search, transactions, measures, patient-history, notifications, export`);
}
