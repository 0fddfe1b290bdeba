/**
 * PostgreSQL server engine (production), through a node-postgres pool.
 */
import pg from 'pg';
import type { Database, Queryable, Row } from './database.js';

/** SQLSTATEs after which a whole transaction may simply be run again. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 4;

// Keep bigint and numeric columns as strings: JavaScript numbers would silently lose precision.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      const result = await client.query<R>(sql, params as unknown[] | undefined);
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
  };
}

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

export async function openPostgres(connectionString: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString, max: poolSize });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Fail at start, not at the first request, when the server cannot be reached.
  const probe = await pool.connect();
  probe.release();
  const root = wrap(pool);

  async function attempt<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      client.release();
    }
  }

  return {
    engine: 'postgres',
    ...root,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      for (let n = 1; ; n++) {
        try {
          return await attempt(fn);
        } catch (error) {
          if (n >= MAX_ATTEMPTS || !RETRYABLE.has(sqlState(error) ?? '')) {
            throw error;
          }
        }
      }
    },
    async close(): Promise<void> {
      await pool.end();
    },
  };
}
