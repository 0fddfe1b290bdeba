/**
 * The Database port: the only way the service talks SQL. One PostgreSQL dialect, two engines
 * (embedded PGlite and a PostgreSQL server); everything above this file is engine-agnostic.
 */

import type { CapacityReason } from './capacity-faults.js';

export type Row = Record<string, unknown>;

export interface Queryable {
  /** Runs one statement with bound parameters; values are never spliced into SQL text. */
  query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export type EngineName = 'pglite' | 'postgres';

export interface Database extends Queryable {
  readonly engine: EngineName;
  /**
   * Runs fn inside one database transaction: committed when fn resolves, rolled back when it throws.
   * On PostgreSQL a deadlock or serialization failure retries fn from the start.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Why writes are refused now without asking the database (PGlite: too little disk space left). */
  writesRefused?(): Promise<CapacityReason | undefined>;
  /**
   * Statements and transactions waiting for a connection (PostgreSQL) or for the one session
   * (PGlite) right now: the load shedding watches it (http/load-shedding.ts). Optional, so that
   * wrappers of a Database (tests, bench) need not forward it.
   */
  queuedStatements?(): number;
  /** Connections of the PostgreSQL pool, open and idle among them, for /metrics; PGlite has none. */
  poolUsage?(): { readonly total: number; readonly idle: number };
  /** Where reads that need no write may run, when a read replica is configured (read-routing.ts). */
  readonly reads?: ReadRoutes;
  close(): Promise<void>;
}

/** What /readyz reports of a read replica. */
export interface ReplicaStatus {
  readonly state: 'available' | 'lagging' | 'unavailable';
  /** Why it takes no reads now; never the connection string. */
  readonly reason?: string;
}

/** Routing of reads between a read replica and the primary (read-routing.ts). */
export interface ReadRoutes {
  /**
   * The handle for a read by `client` that needs no write: the replica once it has replayed that
   * client's last write, else the primary. Its statements fall back to the primary by themselves
   * when the replica fails them.
   */
  readerFor(client: string): Promise<Database>;
  /** Called after a write by `client` committed on the primary: its next reads must see it. */
  wrote(client: string): Promise<void>;
  /** Checks the replica now. */
  status(): Promise<ReplicaStatus>;
}
