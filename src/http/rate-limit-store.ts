/**
 * The rate limit's count shared by every node on one PostgreSQL database (migration 017), so a
 * client gets RATE_LIMIT_PER_MINUTE once, not once per node behind the load balancer.
 *
 * Fixed windows aligned on the database's clock (date_bin), so nodes with skewed clocks still
 * count into the same window; one UPSERT ... RETURNING per request. Windows that have ended are
 * deleted by each node once per window, a DELETE of a few rows per client.
 *
 * A database fault must not turn into a refusal or a 500 of a request the limiter only watches:
 * the count then falls back to this node's memory (the per-node budget, the behaviour before this
 * store) for a few seconds, with a warn line once per window. The request's own database work
 * meets the same fault and answers 503 with Retry-After (http/errors.ts) where it needs the
 * database; requests that do not (metadata, health) keep working.
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Database } from '../storage/database.js';

/** What @fastify/rate-limit needs back: hits in the window so far, and milliseconds until it ends. */
export interface WindowCount {
  readonly current: number;
  readonly ttl: number;
}

export interface WarnLog {
  warn(details: object, message: string): void;
}

export interface SharedCounterOptions {
  readonly log: WarnLog;
  /** Called for every database fault the count meets (for /metrics). */
  readonly onFault?: () => void;
}

interface HitRow {
  hits: number;
  elapsed_ms: number;
}

// $2 is the window in milliseconds; date_bin aligns the window on the epoch (PostgreSQL 14+).
const COUNT_HIT = `INSERT INTO rate_limit_window AS r (key, window_start, hits)
VALUES ($1, date_bin(make_interval(secs => $2::float8 / 1000), now(), timestamptz 'epoch'), 1)
ON CONFLICT (key, window_start) DO UPDATE SET hits = r.hits + 1
RETURNING r.hits, (extract(epoch FROM now() - r.window_start) * 1000)::float8 AS elapsed_ms`;

/**
 * After a fault the node counts alone this long before it asks the database again, so that while
 * the database is away requests do not wait for a connection twice (once here, once for their
 * own work); the same as the Retry-After of a 503 (http/errors.ts).
 */
const LOCAL_AFTER_FAULT_MS = 5000;

const SWEEP = `DELETE FROM rate_limit_window WHERE window_start < now() - make_interval(secs => $1::float8 / 1000)`;

/** The per-node count used while the database cannot count: the same aligned windows, in memory. */
class LocalWindows {
  private windowStart = 0;
  private readonly hits = new Map<string, number>();

  hit(key: string, windowMs: number): WindowCount {
    const now = Date.now();
    const start = now - (now % windowMs);
    if (start !== this.windowStart) {
      // A new window: every count of the old one is void, so the map never outgrows one window's keys.
      this.windowStart = start;
      this.hits.clear();
    }
    const current = (this.hits.get(key) ?? 0) + 1;
    this.hits.set(key, current);
    return { current, ttl: start + windowMs - now };
  }
}

/** The SQLSTATE or Node error code (e.g. ECONNREFUSED), never the message: it may quote the statement. */
function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

export class SharedRateLimitCounter {
  private lastSweep = 0;
  /** Until then the node counts alone without asking the database (a fault was just met). */
  private localUntil = 0;
  private lastWarn = 0;
  private suppressed = 0;
  private readonly local = new LocalWindows();

  constructor(
    private readonly db: Database,
    private readonly options: SharedCounterOptions
  ) {}

  /** Counts one request under `key` in the current window of `windowMs`. */
  async hit(key: string, windowMs: number): Promise<WindowCount> {
    if (Date.now() < this.localUntil) {
      return this.local.hit(key, windowMs);
    }
    try {
      const [row] = await this.db.query<HitRow>(COUNT_HIT, [key, windowMs]);
      if (row === undefined) {
        throw new Error('the rate-limit UPSERT returned no row');
      }
      await this.sweep(windowMs).catch((error: unknown) => this.fault(error, windowMs));
      return { current: Number(row.hits), ttl: Math.max(0, windowMs - Number(row.elapsed_ms)) };
    } catch (error) {
      this.fault(error, windowMs);
      return this.local.hit(key, windowMs);
    }
  }

  private async sweep(windowMs: number): Promise<void> {
    const now = Date.now();
    if (now - this.lastSweep < windowMs) {
      return;
    }
    this.lastSweep = now;
    await this.db.query(SWEEP, [windowMs]);
  }

  private fault(error: unknown, windowMs: number): void {
    this.options.onFault?.();
    const now = Date.now();
    this.localUntil = now + LOCAL_AFTER_FAULT_MS;
    if (now - this.lastWarn < windowMs) {
      this.suppressed += 1;
      return;
    }
    // The error's kind only: a key (client id or address) is not logged with it.
    this.options.log.warn(
      { error: error instanceof Error ? error.name : typeof error, code: errorCode(error), suppressed: this.suppressed },
      'rate limit store unavailable: counting on this node alone'
    );
    this.lastWarn = now;
    this.suppressed = 0;
  }
}

/** The store class @fastify/rate-limit instantiates (`new store(options)`), counting through `counter`. */
export function sharedRateLimitStore(counter: SharedRateLimitCounter): FastifyRateLimitStoreCtor {
  return class SharedStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: WindowCount) => void, timeWindow: number): void {
      counter.hit(key, timeWindow).then(
        (count) => callback(null, count),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)))
      );
    }

    /** Routes with their own limit would share the counts; Schakel configures none. */
    child(): FastifyRateLimitStore {
      return this;
    }
  };
}
