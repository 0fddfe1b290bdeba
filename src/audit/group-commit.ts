/**
 * Group commit: the items that concurrent requests submit within a few milliseconds of each other
 * are written by one `flush` (one INSERT for the audit trail) instead of one round trip each, the
 * way PostgreSQL's own commit_delay groups WAL flushes. A submitter's promise settles only with
 * the flush that holds its item: resolved once that flush committed, rejected with its error
 * otherwise, so a caller that must not answer before its item is durable simply awaits it.
 *
 * When a flush starts: `delayMs` after the first item of the queue arrived, or as soon as
 * `maxItems` are queued, whichever comes first. At most `maxFlushes` run at the same time; items
 * submitted meanwhile wait for the next one, which then carries all of them (up to `maxItems`).
 * The delay only applies while a flush is in flight: on an idle batcher nobody is likely to come
 * along, so waiting would only add latency, and the first item goes on the next turn of the event
 * loop (with whatever was submitted in the same turn). PostgreSQL's commit_delay likewise waits
 * only when commit_siblings other transactions are active (runtime-config-wal.html).
 */

export interface GroupCommitOptions<T> {
  /** Writes one batch; resolves when it is committed. */
  readonly flush: (items: readonly T[]) => Promise<void>;
  /** How long the first queued item waits for company. */
  readonly delayMs: number;
  /** Most items in one flush; a full queue flushes at once. */
  readonly maxItems: number;
  /** Flushes that may be in flight at the same time (each holds a database connection). */
  readonly maxFlushes: number;
  /** Told the size of each batch as its flush starts (metrics). */
  readonly onFlush?: (items: number) => void;
}

interface Pending<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommit<T> {
  private queue: Array<Pending<T>> = [];
  private timer: { cancel(): void } | undefined;
  /** The first queued item has waited its delay; flush as soon as a slot is free. */
  private due = false;
  private closing = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: GroupCommitOptions<T>) {
    if (options.maxItems < 1 || options.maxFlushes < 1 || options.delayMs < 0) {
      throw new RangeError('GroupCommit needs maxItems >= 1, maxFlushes >= 1 and delayMs >= 0');
    }
  }

  /** Queues `item`; settles when the flush that holds it has committed (or failed). */
  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** Items queued and not yet handed to a flush. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Flushes everything queued now, without waiting for the delay, and waits for every flush in
   * flight. Items submitted afterwards are flushed at once (the app is closing: nothing waits for
   * company any more). Call before the database closes.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.pump();
    while (this.inFlight.size > 0 || this.queue.length > 0) {
      await Promise.allSettled([...this.inFlight]);
      this.pump();
    }
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight.size < this.options.maxFlushes && (this.due || this.closing || this.queue.length >= this.options.maxItems)) {
      this.start(this.queue.splice(0, this.options.maxItems));
      this.due = false;
      this.timer?.cancel();
      this.timer = undefined;
    }
    if (this.queue.length > 0 && !this.due && this.timer === undefined && !this.closing) {
      this.timer = this.wait(() => {
        this.timer = undefined;
        this.due = true;
        this.pump();
      });
    }
  }

  private wait(fire: () => void): { cancel(): void } {
    if (this.options.delayMs === 0 || this.inFlight.size === 0) {
      const handle = setImmediate(fire);
      return { cancel: () => clearImmediate(handle) };
    }
    const handle = setTimeout(fire, this.options.delayMs);
    return { cancel: () => clearTimeout(handle) };
  }

  private start(batch: Array<Pending<T>>): void {
    this.options.onFlush?.(batch.length);
    const run = (async () => {
      try {
        await this.options.flush(batch.map((p) => p.item));
        for (const p of batch) {
          p.resolve();
        }
      } catch (error) {
        for (const p of batch) {
          p.reject(error);
        }
      }
    })();
    this.inFlight.add(run);
    void run.finally(() => {
      this.inFlight.delete(run);
      this.pump();
    });
  }
}
