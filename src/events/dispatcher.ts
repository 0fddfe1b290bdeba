/**
 * The event dispatcher: hands the committed change events (resource-event-writer.ts) to each
 * registered consumer in seq order, after commit and off the request path, and records how far
 * each consumer got in event_consumer.
 *
 * Delivery is at least once: a consumer's position advances only after its handle() resolved, so a
 * throw (retried with backoff) or a crash between handling and recording gives the same events
 * again. On PostgreSQL several nodes may run a dispatcher: a pass claims the consumer's row with
 * SELECT ... FOR UPDATE SKIP LOCKED and holds it while the consumer works, so one node at a time
 * serves a consumer and the others skip it. On PGlite (one session, one process) the passes run one
 * at a time in-process, and no transaction is held while a consumer works: the session would be
 * closed to every request meanwhile; the position is then advanced only if nobody moved it.
 *
 * Woken after each commit with events (wake()), and every pollMs as a safety net (events written by
 * another node, a wake-up lost to a crash). Tests drain synchronously with drain().
 */
import type { Database, Queryable } from '../storage/database.js';
import type { EventConsumer, EventInteraction, ResourceEvent } from './resource-event.js';

/** Events handed to a consumer at once. */
const BATCH_SIZE = 100;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 30_000;

export interface DispatcherLog {
  warn(details: object, message: string): void;
}

export interface DispatcherOptions {
  /** Milliseconds between two passes when nothing wakes the dispatcher (EVENT_POLL_MS); 0: no polling. */
  readonly pollMs: number;
}

interface EventRow {
  seq: string | number;
  resource_type: string;
  resource_id: string;
  version_id: number;
  interaction: EventInteraction;
  patients: string[];
  recorded: Date | string;
}

interface ConsumerState {
  readonly consumer: EventConsumer;
  failures: number;
  /** Not before this time (ms since epoch), after a failure or within the consumer's interval; drain() ignores it. */
  retryAt: number;
}

function toEvent(row: EventRow): ResourceEvent {
  return {
    seq: Number(row.seq),
    resourceType: row.resource_type,
    id: row.resource_id,
    versionId: row.version_id,
    interaction: row.interaction,
    patients: row.patients,
    recorded: (row.recorded instanceof Date ? row.recorded : new Date(row.recorded)).toISOString(),
  };
}

async function eventsAfter(db: Queryable, position: number): Promise<ResourceEvent[]> {
  const rows = await db.query<EventRow>(
    `SELECT seq, resource_type, resource_id, version_id, interaction, patients, recorded
       FROM resource_event WHERE seq > $1 ORDER BY seq LIMIT ${BATCH_SIZE}`,
    [position]
  );
  return rows.map(toEvent);
}

/** What one consumer's turn came to. */
type Turn = 'delivered' | 'idle' | 'failed' | 'busy';

export class EventDispatcher {
  private readonly consumers = new Map<string, ConsumerState>();
  /** Passes run one after another, never side by side in one process. */
  private chain: Promise<unknown> = Promise.resolve();
  private scheduled = false;
  private started = false;
  private stopped = false;
  private poll: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private log: DispatcherLog | undefined;

  constructor(
    private readonly db: Database,
    private readonly options: DispatcherOptions
  ) {}

  /**
   * Adds a consumer. One seen before resumes from its recorded position; a new one starts after
   * the events committed so far (it is told about what happens from now on).
   */
  async register(consumer: EventConsumer): Promise<void> {
    if (this.consumers.has(consumer.name)) {
      throw new Error(`Event consumer ${consumer.name} is already registered`);
    }
    await this.db.query(
      `INSERT INTO event_consumer (name, position) SELECT $1, last FROM event_counter ON CONFLICT (name) DO NOTHING`,
      [consumer.name]
    );
    this.consumers.set(consumer.name, { consumer, failures: 0, retryAt: 0 });
    this.wake();
  }

  /** Starts polling and serving wake-ups (app.ts, once the app is ready); consumer failures are logged to `log`. */
  start(log?: DispatcherLog): void {
    if (this.started || this.stopped) {
      return;
    }
    this.started = true;
    this.log = log;
    if (this.options.pollMs > 0) {
      this.poll = setInterval(() => this.wake(), this.options.pollMs);
      this.poll.unref();
    }
    this.wake();
  }

  /** Stops the timers and waits for the pass in progress; nothing runs afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    clearTimeout(this.retry);
    await this.chain;
  }

  /** Asks for a pass soon (after a commit with events); wake-ups while one is pending merge. */
  wake(): void {
    if (!this.started || this.stopped || this.scheduled) {
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      // A pass catches each consumer's failure; this only keeps a surprise from ending the process.
      this.enqueue().catch(() => undefined);
    });
  }

  /**
   * Delivers until every consumer is at the head of the stream or has failed (tests): a consumer
   * in backoff is tried at once, and a consumer that fails is tried once per drain.
   */
  async drain(): Promise<void> {
    const failed = new Set<string>();
    for (;;) {
      const turns = await this.enqueue(failed);
      for (const [name, turn] of turns) {
        if (turn === 'failed') {
          failed.add(name);
        }
      }
      if (![...turns.values()].includes('delivered')) {
        return;
      }
    }
  }

  /** Queues a pass; `drained` (from drain()) ignores backoff and leaves out the consumers named. */
  private enqueue(drained?: ReadonlySet<string>): Promise<Map<string, Turn>> {
    const pass = this.chain.then(() => (this.stopped && !drained ? new Map<string, Turn>() : this.pass(drained)));
    this.chain = pass.catch(() => undefined);
    return pass;
  }

  /** Turns of every consumer due; in the background, again while any of them delivered. */
  private async pass(drained: ReadonlySet<string> | undefined): Promise<Map<string, Turn>> {
    const turns = new Map<string, Turn>();
    for (;;) {
      let delivered = false;
      for (const state of this.consumers.values()) {
        const name = state.consumer.name;
        if (drained ? drained.has(name) : state.retryAt > Date.now()) {
          continue;
        }
        const turn = await this.turn(state);
        turns.set(name, turn);
        delivered ||= turn === 'delivered';
      }
      if (drained || this.stopped || !delivered) {
        break;
      }
    }
    this.scheduleRetry();
    return turns;
  }

  private async turn(state: ConsumerState): Promise<Turn> {
    try {
      const turn = this.db.engine === 'postgres' ? await this.claimedTurn(state.consumer) : await this.inProcessTurn(state.consumer);
      state.failures = 0;
      // A consumer with an interval waits that long after a batch (the retry timer wakes it).
      state.retryAt = turn === 'delivered' && (state.consumer.intervalMs ?? 0) > 0 ? Date.now() + (state.consumer.intervalMs ?? 0) : 0;
      return turn;
    } catch (error) {
      state.failures += 1;
      const delay = Math.min(FIRST_BACKOFF_MS * 2 ** (state.failures - 1), MAX_BACKOFF_MS);
      state.retryAt = Date.now() + delay;
      // The consumer's name and the error's kind only: its message may quote a resource.
      this.log?.warn(
        { consumer: state.consumer.name, failures: state.failures, retryInMs: delay, error: error instanceof Error ? error.name : typeof error },
        'event consumer failed; its events will be delivered again'
      );
      return 'failed';
    }
  }

  /** PostgreSQL: the consumer's row stays locked while it works, so other nodes skip it. */
  private async claimedTurn(consumer: EventConsumer): Promise<Turn> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ position: string | number }>(
        'SELECT position FROM event_consumer WHERE name = $1 FOR UPDATE SKIP LOCKED',
        [consumer.name]
      );
      const row = rows[0];
      if (!row) {
        return 'busy';
      }
      const events = await eventsAfter(tx, Number(row.position));
      const last = events.at(-1);
      if (!last) {
        return 'idle';
      }
      await consumer.handle(events);
      await tx.query('UPDATE event_consumer SET position = $2, updated = now() WHERE name = $1', [consumer.name, last.seq]);
      return 'delivered';
    });
  }

  /** PGlite: one pass at a time in this process; no transaction is held while the consumer works. */
  private async inProcessTurn(consumer: EventConsumer): Promise<Turn> {
    const rows = await this.db.query<{ position: string | number }>('SELECT position FROM event_consumer WHERE name = $1', [consumer.name]);
    const position = Number(rows[0]?.position ?? 0);
    const events = await eventsAfter(this.db, position);
    const last = events.at(-1);
    if (!last) {
      return 'idle';
    }
    await consumer.handle(events);
    await this.db.query('UPDATE event_consumer SET position = $2, updated = now() WHERE name = $1 AND position = $3', [
      consumer.name,
      last.seq,
      position,
    ]);
    return 'delivered';
  }

  /** A timer for the earliest consumer in backoff or interval, so it runs without waiting for a commit or the poll. */
  private scheduleRetry(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    if (this.stopped || !this.started) {
      return;
    }
    const next = Math.min(...[...this.consumers.values()].filter((s) => s.retryAt > 0).map((s) => s.retryAt));
    if (Number.isFinite(next)) {
      this.retry = setTimeout(() => this.wake(), Math.max(0, next - Date.now()));
      this.retry.unref();
    }
  }
}
