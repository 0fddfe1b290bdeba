/**
 * Embedded PGlite engine: PostgreSQL compiled to WASM, persisted in a local folder.
 * One session serves every request; PGlite queues statements and transactions behind one mutex,
 * so a plain query never runs inside another request's open transaction.
 * Not crash-safe: production runs on a PostgreSQL server (README).
 */
import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { Database, Queryable, Row } from './database.js';

function wrap(target: PGlite | Transaction): Queryable {
  return {
    async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      const result = await target.query<R>(sql, params as unknown[] | undefined);
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  };
}

export async function openPglite(dataDir: string): Promise<Database> {
  if (!dataDir.startsWith('memory://')) {
    mkdirSync(dataDir, { recursive: true });
  }
  // pg_trgm backs the search index for :contains (migrations/002_search_index.sql).
  const db = await PGlite.create(dataDir, { extensions: { pg_trgm } });
  const root = wrap(db);
  return {
    engine: 'pglite',
    ...root,
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return db.transaction((tx) => fn(wrap(tx)));
    },
    async close(): Promise<void> {
      if (!db.closed) {
        await db.close();
      }
    },
  };
}
