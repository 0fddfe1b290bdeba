/**
 * PostgreSQL server engine (production), through a node-postgres pool.
 *
 * A restart or outage of the server is an ordinary event (connection-faults.ts): every client of
 * the pool has an 'error' listener for its whole life, since node-postgres emits 'error' on a
 * client whose connection breaks, also while it is checked out between two statements of a
 * transaction, and an EventEmitter without listener would end the process. A broken client is
 * released with its error, so the pool destroys it and opens a fresh connection for the next
 * caller. The failing statement surfaces as DatabaseUnavailableError, retried once where that is
 * provably safe.
 */
import pg from 'pg';
import { DatabaseUnavailableError, isConnectionFault } from './connection-faults.js';
import type { Database, Queryable, Row } from './database.js';

/** SQLSTATEs after which a whole transaction may simply be run again. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 4;

// Keep bigint and numeric columns as strings: JavaScript numbers would silently lose precision.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

/** Where the engine reports connection faults it absorbs (a pino logger fits). */
export interface FaultLog {
  warn(details: object, message: string): void;
}

export interface PostgresOptions {
  readonly poolSize: number;
  /** Longest wait for a new connection, so that requests do not hang while the server is away. */
  readonly connectTimeoutMs: number;
  readonly log?: FaultLog | undefined;
}

/**
 * Statements that cannot change data: one of them that lost its connection may run again on a
 * fresh one. Conservative: any data-modifying keyword (also in a literal) rules a retry out.
 */
function isReadOnly(sql: string): boolean {
  return /^\s*(SELECT|WITH|SHOW|VALUES)\b/i.test(sql) && !/\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|nextval|setval|pg_advisory)/i.test(sql);
}

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Server-side prepared statements: a statement text the pool has seen before is sent by name, so
 * PostgreSQL parses and analyses it once per connection instead of on every call (the extended
 * protocol's Parse is skipped; https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY),
 * and after a few calls may keep a generic plan (plan_cache_mode, PREPARE). The texts are the
 * fixed shapes of the repository and search SQL; the number of names is bounded, so that a
 * stream of distinct texts (searches with many parameter combinations) cannot grow what every
 * connection holds: beyond the bound a text runs unnamed, as before.
 */
export const MAX_NAMED_STATEMENTS = 500;

export class StatementNames {
  private readonly names = new Map<string, string>();

  constructor(private readonly capacity = MAX_NAMED_STATEMENTS) {}

  /** The name a text is prepared under; undefined for a text sent unnamed. */
  nameOf(sql: string, params: readonly unknown[] | undefined): string | undefined {
    // Without parameters: scripts (several statements, which cannot be prepared) and BEGIN/COMMIT.
    if (params === undefined) {
      return undefined;
    }
    const known = this.names.get(sql);
    if (known !== undefined || this.names.size >= this.capacity) {
      return known;
    }
    const name = `schakel_${this.names.size + 1}`;
    this.names.set(sql, name);
    return name;
  }
}

export async function openPostgres(connectionString: string, options: PostgresOptions): Promise<Database> {
  const names = new StatementNames();
  const send = <R extends object>(client: pg.PoolClient, sql: string, params: readonly unknown[] | undefined): Promise<pg.QueryResult<R>> => {
    const name = names.nameOf(sql, params);
    return name === undefined ? client.query<R>(sql, params as unknown[] | undefined) : client.query<R>({ name, text: sql, values: params as unknown[] });
  };
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    keepAlive: true,
  });
  /** Clients whose connection broke; their next statement is known not to reach the server. */
  const broken = new WeakSet<pg.PoolClient>();
  // pg-pool re-emits errors of idle clients here and drops them; the per-client listener logs.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', (error: Error) => {
      broken.add(client);
      options.log?.warn({ reason: new DatabaseUnavailableError(error, 'no').reason }, 'database connection lost; the pool replaces it');
    });
  });

  /** A client from the pool; a failure here means no statement was sent. */
  async function acquire(): Promise<pg.PoolClient> {
    try {
      return await pool.connect();
    } catch (error) {
      throw isConnectionFault(error) ? new DatabaseUnavailableError(error, 'no') : error;
    }
  }

  function release(client: pg.PoolClient, error?: unknown): void {
    // With an error (or a broken connection) the pool destroys the client instead of reusing it.
    client.release(error !== undefined || broken.has(client) ? asError(error ?? 'connection broken') : undefined);
  }

  /** One statement in autocommit on a client of its own; retried once when that is safe. */
  async function statement<R extends object>(sql: string, params: readonly unknown[] | undefined): Promise<pg.QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await acquire();
      } catch (error) {
        if (attempt === 1 && error instanceof DatabaseUnavailableError && !error.timedOut) {
          continue;
        }
        throw error;
      }
      const wasBroken = broken.has(client);
      try {
        const result = await send<R>(client, sql, params);
        release(client);
        return result;
      } catch (error) {
        if (!isConnectionFault(error)) {
          release(client);
          throw error;
        }
        release(client, error);
        // A write in autocommit may have committed before the connection broke: never run it twice.
        const sent = !wasBroken;
        if (attempt === 1 && (!sent || isReadOnly(sql))) {
          continue;
        }
        throw new DatabaseUnavailableError(error, sent && !isReadOnly(sql) ? 'unknown' : 'no');
      }
    }
  }

  const root: Queryable = {
    async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
      return (await statement<R>(sql, params)).rows;
    },
    async exec(sql: string): Promise<void> {
      await statement(sql, undefined);
    },
  };

  function wrapClient(client: pg.PoolClient): Queryable {
    const run = async <R extends object>(sql: string, params?: readonly unknown[]): Promise<pg.QueryResult<R>> => {
      try {
        return await send<R>(client, sql, params);
      } catch (error) {
        if (isConnectionFault(error)) {
          broken.add(client);
          throw new DatabaseUnavailableError(error, 'no');
        }
        throw error;
      }
    };
    return {
      async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
        return (await run<R>(sql, params)).rows;
      },
      async exec(sql: string): Promise<void> {
        await run(sql);
      },
    };
  }

  async function attempt<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await acquire();
    // Set once COMMIT has been handed to a connection that was still whole: from then on the
    // outcome of a lost connection is unknown.
    let commitSent = false;
    try {
      await client.query('BEGIN');
      const result = await fn(wrapClient(client));
      commitSent = !broken.has(client);
      await client.query('COMMIT');
      release(client);
      return result;
    } catch (error) {
      // fn may have swallowed the fault and thrown something else; the broken client tells.
      if (isConnectionFault(error) || broken.has(client)) {
        release(client, error);
        throw new DatabaseUnavailableError(error instanceof DatabaseUnavailableError ? error.cause : error, commitSent ? 'unknown' : 'no');
      }
      await client.query('ROLLBACK').catch(() => undefined);
      release(client);
      throw error;
    }
  }

  // Fail at start, not at the first request, when the server cannot be reached.
  try {
    release(await acquire());
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }

  return {
    engine: 'postgres',
    ...root,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      let connectionRetried = false;
      for (let n = 1; ; n++) {
        try {
          return await attempt(fn);
        } catch (error) {
          if (error instanceof DatabaseUnavailableError) {
            // Provably not committed (nothing reached COMMIT): one more try on a fresh connection.
            if (error.committed === 'no' && !connectionRetried && !error.timedOut) {
              connectionRetried = true;
              continue;
            }
            throw error;
          }
          if (n >= MAX_ATTEMPTS || !RETRYABLE.has(sqlState(error) ?? '')) {
            throw error;
          }
        }
      }
    },
    queuedStatements(): number {
      return pool.waitingCount;
    },
    poolUsage() {
      return { total: pool.totalCount, idle: pool.idleCount };
    },
    async close(): Promise<void> {
      await pool.end();
    },
  };
}
