import type { Config } from '../config/config.js';
import { DatabaseUnavailableError, faultReason, isConnectionFault } from './connection-faults.js';
import type { Database } from './database.js';
import { migrate } from './migrate.js';
import { openPglite } from './pglite.js';
import { openPostgres, type FaultLog } from './postgres.js';
import { ReadRouting } from './read-routing.js';

export type DatabaseSettings = Pick<Config, 'databaseUrl' | 'databasePoolSize' | 'dataDir'> &
  Partial<
    Pick<
      Config,
      | 'databaseConnectTimeoutMs'
      | 'databaseStartupWaitSeconds'
      | 'diskFreeMarginBytes'
      | 'databaseReadUrl'
      | 'databaseReadMaxLagSeconds'
      | 'readYourWritesWaitMs'
    >
  >;

/** Backoff between start attempts: 0.5, 1, then every 2 seconds (one cheap connect each). */
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 2_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** A replica that does not answer this fast is passed over: the primary can take the read. */
const MAX_REPLICA_CONNECT_TIMEOUT_MS = 1_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens the configured engine and brings its schema up to date. A PostgreSQL server that is not
 * reachable yet (containers starting together, a restart) is waited for, with backoff and a log
 * line per attempt, for at most `databaseStartupWaitSeconds` (0: fail at once); any other error
 * (bad credentials, a failing migration) fails at once.
 */
export async function openDatabase(config: DatabaseSettings, log?: FaultLog): Promise<Database> {
  return open(config, log, migrated);
}

/**
 * Like openDatabase, without migrating: server.ts migrates under the start-up lock
 * (storage/startup-lock.ts), together with the definitions and the demo data.
 */
export async function connectDatabase(config: DatabaseSettings, log?: FaultLog): Promise<Database> {
  return open(config, log, async (db) => db);
}

async function open(config: DatabaseSettings, log: FaultLog | undefined, prepare: (db: Database) => Promise<Database>): Promise<Database> {
  if (config.databaseReadUrl !== undefined && !config.databaseUrl) {
    throw new Error('a read replica needs a PostgreSQL primary (DATABASE_URL)');
  }
  const primary = await openPrimary(config, log, prepare);
  return config.databaseReadUrl === undefined ? primary : withReadReplica(primary, config.databaseReadUrl, config, log);
}

/**
 * The primary with reads routed to a replica (read-routing.ts). The replica is never migrated (a
 * standby replays the primary's schema) and may be down at start: reads then use the primary.
 */
async function withReadReplica(primary: Database, url: string, config: DatabaseSettings, log?: FaultLog): Promise<Database> {
  const connectTimeoutMs = Math.min(config.databaseConnectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, MAX_REPLICA_CONNECT_TIMEOUT_MS);
  const reads = new ReadRouting(primary, () => openPostgres(url, { poolSize: config.databasePoolSize, connectTimeoutMs, log }), {
    maxLagSeconds: config.databaseReadMaxLagSeconds ?? 30,
    readYourWritesWaitMs: config.readYourWritesWaitMs ?? 200,
    log,
  });
  await reads.status();
  return {
    ...primary,
    reads,
    async close() {
      await reads.close();
      await primary.close();
    },
  };
}

async function openPrimary(config: DatabaseSettings, log: FaultLog | undefined, prepare: (db: Database) => Promise<Database>): Promise<Database> {
  if (!config.databaseUrl) {
    return prepare(await openPglite(config.dataDir, { diskFreeMarginBytes: config.diskFreeMarginBytes ?? 0 }));
  }
  const url = config.databaseUrl;
  const waitMs = (config.databaseStartupWaitSeconds ?? 0) * 1000;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const db = await openPostgres(url, {
        poolSize: config.databasePoolSize,
        connectTimeoutMs: config.databaseConnectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        log,
      });
      return await prepare(db);
    } catch (error) {
      if (!isConnectionFault(error)) {
        throw error;
      }
      const delay = Math.min(FIRST_BACKOFF_MS * 2 ** (attempt - 1), MAX_BACKOFF_MS);
      const elapsed = Date.now() - started;
      if (elapsed + delay > waitMs) {
        const waited = Math.round(elapsed / 1000);
        throw new DatabaseUnavailableError(error, 'no', `database not reachable (${faultReason(error)}) after ${attempt} attempt(s) in ${waited} s`);
      }
      log?.warn({ attempt, reason: faultReason(error), retryInMs: delay }, `database not reachable (${faultReason(error)}), retrying in ${delay / 1000} s`);
      await sleep(delay);
    }
  }
}

async function migrated(db: Database): Promise<Database> {
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return db;
}
