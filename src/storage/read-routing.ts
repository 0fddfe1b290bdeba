/**
 * Reads on a streaming read replica (DATABASE_READ_URL), with read-your-writes.
 *
 * Which reads: dispatch hands the replica only to interactions that need no write (read, vread,
 * history, search); writes, transactions, operations and every audit row use the primary.
 *
 * Read-your-writes by WAL position rather than by a time window: after a client's write commits,
 * the primary's WAL insert position (`pg_current_wal_insert_lsn()`, which lies past the commit
 * record even with synchronous_commit off, when `pg_current_wal_lsn()` may not yet) is remembered
 * for that client. Its next read goes to the replica only once the replica has replayed that far
 * (`pg_last_wal_replay_lsn()`), waiting at most READ_YOUR_WRITES_WAIT_MS, else to the primary.
 * A window would be too long when the replica is close behind (the primary takes reads it need
 * not) and too short when it lags (the client misses its own write); the position is exact and
 * costs one cheap statement per write.
 * See https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-RECOVERY-INFO-TABLE
 *
 * The positions live in this process: behind a load balancer each node knows only the writes it
 * took itself (docs/configuration.md).
 *
 * A replica that is down, no longer a standby, or further behind than DATABASE_READ_MAX_LAG_SECONDS
 * takes no reads; a statement the replica fails with a connection fault (or cancels for a
 * conflict with recovery) runs again on the primary, so its loss never answers 500.
 */
import { faultReason, isConnectionFault } from './connection-faults.js';
import type { Database, Queryable, ReadRoutes, ReplicaStatus, Row } from './database.js';
import type { FaultLog } from './postgres.js';

export interface ReadRoutingOptions {
  /** A replica further behind than this takes no reads (0: any lag is too much). */
  readonly maxLagSeconds: number;
  /** How long a read by a client that has just written waits for the replica to replay it. */
  readonly readYourWritesWaitMs: number;
  /** How long a known state of the replica is trusted before it is checked again. */
  readonly recheckMs?: number;
  readonly log?: FaultLog | undefined;
}

/**
 * SQLSTATEs after which the same reads simply run on the primary: 40001 is how a hot standby
 * cancels a query that conflicts with replay; 25006 a statement that would write, which a
 * standby refuses (whatever needs a write belongs on the primary anyway).
 */
const PRIMARY_AFTER = new Set(['40001', '25006']);
const POLL_MS = 10;
const DEFAULT_RECHECK_MS = 1_000;
/** When the position of a write could not be read, the client reads from the primary this long. */
const UNKNOWN_POSITION_MS = 10_000;

const STATE_SQL = `SELECT pg_is_in_recovery() AS standby,
  pg_last_wal_replay_lsn()::text AS replay,
  CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END AS lag`;

interface StateRow {
  standby: boolean;
  replay: string | null;
  lag: string | number | null;
}

/** A pg_lsn such as `0/3000148` as a number that orders like it. */
export function parseLsn(text: string): bigint {
  const [high, low] = text.split('/');
  return (BigInt(`0x${high ?? '0'}`) << 32n) | BigInt(`0x${low ?? '0'}`);
}

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The last write of a client: its WAL position, or unknown until a moment. */
interface LastWrite {
  readonly lsn: bigint | undefined;
  readonly until: number;
}

export class ReadRouting implements ReadRoutes {
  private replica: Database | undefined;
  private state: ReplicaStatus = { state: 'unavailable', reason: 'not checked yet' };
  private checkedAt = 0;
  private checking: Promise<void> | undefined;
  /** The highest replay position the replica has reported. */
  private replayed = 0n;
  private readonly lastWrites = new Map<string, LastWrite>();
  private closed = false;
  private readonly recheckMs: number;

  constructor(
    private readonly primary: Database,
    private readonly openReplica: () => Promise<Database>,
    private readonly options: ReadRoutingOptions
  ) {
    this.recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
  }

  async readerFor(client: string): Promise<Database> {
    if (Date.now() - this.checkedAt >= this.recheckMs) {
      // The request does not wait for the check: it uses what is known, the next one the news.
      void this.check();
    }
    const replica = this.replica;
    if (this.state.state !== 'available' || replica === undefined) {
      return this.primary;
    }
    const last = this.lastWrites.get(client);
    if (last !== undefined && !(await this.replayedWrite(client, last))) {
      return this.primary;
    }
    return this.fallingBack(replica);
  }

  async wrote(client: string): Promise<void> {
    try {
      const [row] = await this.primary.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
      const lsn = row === undefined ? undefined : parseLsn(row.lsn);
      this.lastWrites.set(client, { lsn, until: Date.now() + UNKNOWN_POSITION_MS });
    } catch {
      // The write is committed; without its position the client reads from the primary a while.
      this.lastWrites.set(client, { lsn: undefined, until: Date.now() + UNKNOWN_POSITION_MS });
    }
  }

  async status(): Promise<ReplicaStatus> {
    await this.check();
    return this.state;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.checking;
    await this.replica?.close().catch(() => undefined);
    this.replica = undefined;
  }

  /** Whether the replica has replayed the client's last write, waiting for it a short while. */
  private async replayedWrite(client: string, last: LastWrite): Promise<boolean> {
    if (last.lsn === undefined) {
      if (Date.now() < last.until) {
        return false;
      }
      this.forget(client, last);
      return true;
    }
    const deadline = Date.now() + this.options.readYourWritesWaitMs;
    for (;;) {
      if (this.replayed >= last.lsn) {
        this.forget(client, last);
        return true;
      }
      if (Date.now() >= deadline || this.state.state !== 'available') {
        return false;
      }
      await sleep(POLL_MS);
      await this.readReplayPosition();
    }
  }

  private forget(client: string, last: LastWrite): void {
    // A newer write of the same client may have replaced this one meanwhile.
    if (this.lastWrites.get(client) === last) {
      this.lastWrites.delete(client);
    }
  }

  private async readReplayPosition(): Promise<void> {
    try {
      const [row] = await this.replica?.query<{ replay: string | null }>('SELECT pg_last_wal_replay_lsn()::text AS replay') ?? [];
      this.noteReplay(row?.replay ?? null);
    } catch (error) {
      this.unavailable(error);
    }
  }

  private noteReplay(replay: string | null): void {
    const position = replay === null ? 0n : parseLsn(replay);
    if (position > this.replayed) {
      this.replayed = position;
    }
  }

  /** Checks the replica once; concurrent callers share the check. Never rejects. */
  private check(): Promise<void> {
    this.checking ??= this.checkNow().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async checkNow(): Promise<void> {
    if (this.closed) {
      return;
    }
    try {
      // Opened on first need, so that a replica that is down at start delays nothing.
      this.replica ??= await this.openReplica();
      const [row] = await this.replica.query<StateRow>(STATE_SQL);
      if (row?.standby !== true) {
        // A promoted replica no longer follows this primary: reading it would miss new writes.
        this.become({ state: 'unavailable', reason: 'not a standby' });
      } else {
        this.noteReplay(row.replay);
        const lag = Number(row.lag ?? 0);
        this.become(lag > this.options.maxLagSeconds ? { state: 'lagging', reason: `replica is ${Math.round(lag)} s behind` } : { state: 'available' });
      }
    } catch (error) {
      this.unavailable(error);
    } finally {
      this.checkedAt = Date.now();
    }
  }

  private unavailable(error: unknown): void {
    this.checkedAt = Date.now();
    this.become({ state: 'unavailable', reason: isConnectionFault(error) ? faultReason(error) : 'replica check failed' });
  }

  private become(next: ReplicaStatus): void {
    if (next.state !== this.state.state && next.state !== 'available') {
      this.options.log?.warn({ replica: next.state, reason: next.reason }, `read replica ${next.state} (${next.reason ?? ''}); reads go to the primary`);
    }
    this.state = next;
  }

  /** The replica, with every statement it fails for its own reasons run again on the primary. */
  private fallingBack(replica: Database): Database {
    const primary = this.primary;
    const onPrimary = async <T>(error: unknown, retry: () => Promise<T>): Promise<T> => {
      if (isConnectionFault(error)) {
        this.unavailable(error);
      } else if (!PRIMARY_AFTER.has(sqlState(error) ?? '')) {
        throw error;
      }
      return retry();
    };
    return {
      engine: replica.engine,
      async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<R[]> {
        try {
          return await replica.query<R>(sql, params);
        } catch (error) {
          return onPrimary(error, () => primary.query<R>(sql, params));
        }
      },
      async exec(sql: string): Promise<void> {
        try {
          await replica.exec(sql);
        } catch (error) {
          await onPrimary(error, () => primary.exec(sql));
        }
      },
      // fn only reads here (dispatch routes nothing else), so running it again is safe.
      async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
        try {
          return await replica.transaction(fn);
        } catch (error) {
          return onPrimary(error, () => primary.transaction(fn));
        }
      },
      // The replica's pool belongs to this router, which closes it.
      close: async () => undefined,
    };
  }
}
