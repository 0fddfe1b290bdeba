/**
 * Embedded PGlite engine: PostgreSQL compiled to WASM, persisted in a local folder.
 * One session serves every request; PGlite queues statements and transactions behind one mutex,
 * so a plain query never runs inside another request's open transaction.
 * Not crash-safe: production runs on a PostgreSQL server (README).
 *
 * PGlite has no autovacuum daemon, so nothing would ever give the planner statistics: as tables
 * grow, plans chosen on default estimates turn into sequential scans. The engine runs ANALYZE
 * itself, at open and again after every ANALYZE_EVERY statements (at most once a minute), in the
 * queue like any statement.
 *
 * PGlite runs a statement synchronously on the event loop, and its queue hands the session from
 * one statement to the next in promise callbacks, which never let the event loop poll for I/O.
 * Each statement therefore first yields to the event loop (setImmediate), so that /healthz, new
 * connections and timers get their turn between two statements instead of after the whole queue.
 */
import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { Database, Queryable, Row } from './database.js';
import { sqlSpan } from '../tracing/spans.js';
import { DiskSpaceGuard } from './disk-space.js';

/** Statements between two ANALYZE runs; each run samples at most 30,000 rows per table. */
const ANALYZE_EVERY = 5_000;
const ANALYZE_MIN_INTERVAL_MS = 60_000;

class Autoanalyze {
  private statements = 0;
  private last = 0;
  private running: Promise<void> | undefined;

  constructor(private readonly db: PGlite) {}

  /** Counts a statement; starts ANALYZE in the background when it is due. */
  note(): void {
    this.statements += 1;
    if (this.statements >= ANALYZE_EVERY && !this.running && Date.now() - this.last >= ANALYZE_MIN_INTERVAL_MS) {
      void this.run();
    }
  }

  run(): Promise<void> {
    this.statements = 0;
    this.last = Date.now();
    if (!this.running) {
      // A failed ANALYZE costs only statistics; the next run tries again.
      const running: Promise<void> = this.db.exec('ANALYZE').then(
        () => undefined,
        () => undefined
      );
      this.running = running.finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  /** Waits for a run in progress (before closing the database). */
  async settle(): Promise<void> {
    await this.running;
  }
}

export interface PgliteOptions {
  /** Bytes that must stay free under dataDir for a write transaction to start (0: no check). */
  readonly diskFreeMarginBytes?: number;
  /**
   * Whether to ANALYZE at open (default true). Only a caller that knows the folder's statistics
   * are current turns it off: a copy of a data folder that was analyzed as its last statement
   * (the test databases of test/helpers/database.ts) would get the same statistics again.
   */
  readonly analyzeAtOpen?: boolean;
}

export async function openPglite(dataDir: string, options: PgliteOptions = {}): Promise<Database> {
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) {
    mkdirSync(dataDir, { recursive: true });
  }
  const disk = inMemory ? undefined : new DiskSpaceGuard(dataDir, options.diskFreeMarginBytes ?? 0);
  // pg_trgm backs the search index for :contains (migrations/002_search_index.sql).
  const db = await PGlite.create(dataDir, { extensions: { pg_trgm } });
  const analyze = new Autoanalyze(db);
  if (options.analyzeAtOpen ?? true) {
    await analyze.run();
  }
  let queued = 0;
  /** Runs work after a turn of the event loop, counted as queued until it has run. */
  const inTurn = async <T>(work: () => Promise<T>): Promise<T> => {
    queued += 1;
    try {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return await work();
    } finally {
      queued -= 1;
    }
  };
  const wrap = (target: PGlite | Transaction): Queryable => ({
    async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      analyze.note();
      const result = await sqlSpan(sql, () => inTurn(() => target.query<R>(sql, params as unknown[] | undefined)));
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      await sqlSpan(sql, () => inTurn(() => target.exec(sql)));
    },
  });
  const root = wrap(db);
  return {
    engine: 'pglite',
    ...root,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      await disk?.assertRoom();
      return db.transaction((tx) => fn(wrap(tx)));
    },
    async writesRefused() {
      return (await disk?.low()) ? 'disk full' : undefined;
    },
    queuedStatements(): number {
      return queued;
    },
    async close(): Promise<void> {
      await analyze.settle();
      if (!db.closed) {
        await db.close();
      }
    },
  };
}
