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
  close(): Promise<void>;
}
