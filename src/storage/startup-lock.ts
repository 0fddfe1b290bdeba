/**
 * One start-up at a time per PostgreSQL database: migrations, the server's definitions and the
 * demo fixtures are written under one session-level advisory lock
 * (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS). Nodes starting
 * together on an empty database otherwise each apply migrations, install the same profiles and
 * load the same fixtures at the same moment: deadlocks between their writes, and fixtures stored
 * twice (a second version of every resource). Under the lock the first node does the work; every
 * other one waits, then finds everything in place and writes nothing.
 *
 * The lock lives on a connection of its own, outside the pool: the work under it uses the pool
 * (any size, even 1), and a node that dies mid-start releases the lock with its connection.
 * PGlite is one process's embedded database: nothing to coordinate, the work runs at once.
 */
import pg from 'pg';

/** Arbitrary constant, distinct from storage/migrate.ts's per-migration lock. */
export const STARTUP_LOCK = 727_274_002;

export interface StartupLockSettings {
  /** PostgreSQL connection string; undefined (PGlite) needs no lock. */
  readonly databaseUrl: string | undefined;
  readonly connectTimeoutMs: number;
}

export interface StartupLockLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** Runs `work` while holding the start-up lock; waits (logging once) while another node holds it. */
export async function withStartupLock<T>(settings: StartupLockSettings, log: StartupLockLog, work: () => Promise<T>): Promise<T> {
  if (settings.databaseUrl === undefined) {
    return work();
  }
  const client = new pg.Client({ connectionString: settings.databaseUrl, connectionTimeoutMillis: settings.connectTimeoutMs });
  // A lost lock connection must not crash the process from an unhandled 'error' event; the work's
  // own statements then fail or finish, and the per-migration lock still guards each migration.
  client.on('error', (error) => log.warn({ reason: error.message }, 'the start-up lock connection was lost'));
  await client.connect();
  try {
    const [row] = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [STARTUP_LOCK])).rows;
    if (row?.locked !== true) {
      const started = Date.now();
      log.info({ phase: 'lock' }, 'another node is starting on this database: waiting for it to finish migrations and seeding');
      await client.query('SELECT pg_advisory_lock($1)', [STARTUP_LOCK]);
      log.info({ phase: 'lock', durationMs: Date.now() - started }, 'start-up lock taken');
    }
    return await work();
  } finally {
    // Ending the session releases the lock (session-level advisory locks end with their session).
    await client.end().catch(() => undefined);
  }
}
