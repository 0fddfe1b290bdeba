/**
 * The engine's SQL (016_subscription.sql): delivery state, numbered events, and the Subscriptions
 * themselves as stored. Same statements on PGlite and PostgreSQL.
 */
import type { Subscription } from '@medplum/fhirtypes';
import type { Queryable } from '../storage/database.js';
import type { ResourceEvent } from '../events/resource-event.js';
import type { NumberedEvent } from './notification-bundle.js';

export interface StoredSubscription {
  readonly subscription: Subscription & { id: string };
  readonly versionId: number;
  readonly startSeq: number;
  readonly eventsSinceStart: number;
  readonly deliveredThrough: number;
  readonly failures: number;
  /** ms since epoch; 0 when due at once. */
  readonly nextAttempt: number;
  /** ms since epoch of the last notification the receiver accepted; 0 for never. */
  readonly lastSent: number;
}

interface DeliveryRow {
  id: string;
  version_id: number;
  content: string;
  start_seq: string | number;
  events_since_start: string | number;
  delivered_through: string | number;
  failures: number;
  next_attempt: Date | string | null;
  last_sent: Date | string | null;
}

const SELECT_DELIVERY = `
  SELECT r.id, r.version_id, r.content, d.start_seq, d.events_since_start, d.delivered_through, d.failures, d.next_attempt, d.last_sent
    FROM subscription_delivery d JOIN resource r ON r.resource_type = 'Subscription' AND r.id = d.subscription_id AND NOT r.deleted`;

function toStored(row: DeliveryRow): StoredSubscription {
  return {
    subscription: { ...(JSON.parse(row.content) as Subscription), id: row.id },
    versionId: row.version_id,
    startSeq: Number(row.start_seq),
    eventsSinceStart: Number(row.events_since_start),
    deliveredThrough: Number(row.delivered_through),
    failures: row.failures,
    nextAttempt: row.next_attempt === null ? 0 : new Date(row.next_attempt).getTime(),
    lastSent: row.last_sent === null ? 0 : new Date(row.last_sent).getTime(),
  };
}

/** A Subscription's create event starts its delivery state; later events are what it is told about. */
export async function startDelivery(db: Queryable, subscriptionId: string, seq: number): Promise<void> {
  await db.query('INSERT INTO subscription_delivery (subscription_id, start_seq) VALUES ($1, $2) ON CONFLICT (subscription_id) DO NOTHING', [
    subscriptionId,
    seq,
  ]);
}

/** Every Subscription with delivery state whose status is one of `statuses`. */
export async function subscriptionsWithStatus(db: Queryable, statuses: readonly string[]): Promise<StoredSubscription[]> {
  const rows = await db.query<DeliveryRow>(`${SELECT_DELIVERY} ORDER BY r.id`);
  return rows.map(toStored).filter((s) => statuses.includes(s.subscription.status ?? ''));
}

export async function subscriptionState(db: Queryable, subscriptionId: string): Promise<StoredSubscription | undefined> {
  const rows = await db.query<DeliveryRow>(`${SELECT_DELIVERY} WHERE d.subscription_id = $1`, [subscriptionId]);
  return rows[0] === undefined ? undefined : toStored(rows[0]);
}

/**
 * Numbers the events for the Subscription, in the order given (seq order), each once: handling the
 * same outbox events again (delivery is at least once) finds them already numbered. Three
 * statements for the whole list, whatever its length: at 100 writes/s with ten matching
 * Subscriptions, statements per event would be the matcher's main cost.
 */
export async function recordEvents(db: Queryable, subscriptionId: string, events: readonly ResourceEvent[]): Promise<void> {
  if (events.length === 0) {
    return;
  }
  const seqs = events.map((e, i) => `$${i + 2}`).join(', ');
  const seen = await db.query<{ seq: string | number }>(`SELECT seq FROM subscription_event WHERE subscription_id = $1 AND seq IN (${seqs})`, [
    subscriptionId,
    ...events.map((e) => e.seq),
  ]);
  const numberedAlready = new Set(seen.map((r) => Number(r.seq)));
  const fresh = events.filter((e) => !numberedAlready.has(Number(e.seq)));
  if (fresh.length === 0) {
    return;
  }
  const numbered = await db.query<{ events_since_start: string | number }>(
    'UPDATE subscription_delivery SET events_since_start = events_since_start + $2 WHERE subscription_id = $1 RETURNING events_since_start',
    [subscriptionId, fresh.length]
  );
  const last = numbered[0]?.events_since_start;
  if (last === undefined) {
    return;
  }
  const first = Number(last) - fresh.length + 1;
  const params: unknown[] = [];
  const rows = fresh.map((event, i) => {
    const at = params.length;
    params.push(subscriptionId, first + i, event.seq, event.resourceType, event.id, event.versionId, event.interaction, event.recorded);
    return `(${Array.from({ length: 8 }, (_, k) => `$${at + k + 1}`).join(', ')})`;
  });
  await db.query(
    `INSERT INTO subscription_event (subscription_id, event_number, seq, resource_type, resource_id, version_id, interaction, recorded)
     VALUES ${rows.join(', ')}`,
    params
  );
}

interface EventRow {
  event_number: string | number;
  resource_type: string;
  resource_id: string;
  version_id: number;
  interaction: string;
  recorded: Date | string;
  patients: string[] | null;
}

/** Numbered events from `since` to `until`, both inclusive, at most `limit`. */
export async function numberedEvents(db: Queryable, subscriptionId: string, since: number, until: number, limit: number): Promise<NumberedEvent[]> {
  const rows = await db.query<EventRow>(
    `SELECT s.event_number, s.resource_type, s.resource_id, s.version_id, s.interaction, s.recorded, e.patients
       FROM subscription_event s LEFT JOIN resource_event e ON e.seq = s.seq
      WHERE s.subscription_id = $1 AND s.event_number >= $2 AND s.event_number <= $3 ORDER BY s.event_number LIMIT ${limit}`,
    [subscriptionId, since, until]
  );
  return rows.map((r) => ({
    eventNumber: Number(r.event_number),
    resourceType: r.resource_type,
    id: r.resource_id,
    versionId: r.version_id,
    interaction: r.interaction,
    recorded: new Date(r.recorded).toISOString(),
    patients: r.patients ?? [],
  }));
}

/**
 * Takes the Subscription for one sender (this node, this pass) until `leaseMs` from now; false
 * when another holds it. A lease rather than a held transaction: a delivery waits on a receiver.
 */
export async function lease(db: Queryable, subscriptionId: string, leaseMs: number): Promise<boolean> {
  const rows = await db.query(
    `UPDATE subscription_delivery SET lease_until = now() + ($2 * interval '1 millisecond')
      WHERE subscription_id = $1 AND (lease_until IS NULL OR lease_until < now()) RETURNING subscription_id`,
    [subscriptionId, leaseMs]
  );
  return rows.length > 0;
}

export async function delivered(db: Queryable, subscriptionId: string, through: number): Promise<void> {
  await db.query(
    `UPDATE subscription_delivery SET delivered_through = GREATEST(delivered_through, $2), failures = 0, next_attempt = NULL, lease_until = NULL,
            last_sent = now()
      WHERE subscription_id = $1`,
    [subscriptionId, through]
  );
}

/** Counts a failed delivery; answers the failures in a row. */
export async function failed(db: Queryable, subscriptionId: string, retryInMs: (failures: number) => number): Promise<number> {
  const rows = await db.query<{ failures: number }>(
    'UPDATE subscription_delivery SET failures = failures + 1, lease_until = NULL WHERE subscription_id = $1 RETURNING failures',
    [subscriptionId]
  );
  const failures = rows[0]?.failures ?? 1;
  await db.query(`UPDATE subscription_delivery SET next_attempt = now() + ($2 * interval '1 millisecond') WHERE subscription_id = $1`, [
    subscriptionId,
    retryInMs(failures),
  ]);
  return failures;
}

/** A new handshake starts afresh: no failures counted, due at once. */
export async function resetFailures(db: Queryable, subscriptionId: string): Promise<void> {
  await db.query('UPDATE subscription_delivery SET failures = 0, next_attempt = NULL, lease_until = NULL WHERE subscription_id = $1', [subscriptionId]);
}

/** Gives the lease back without delivering (another node got there first). */
export async function releaseLease(db: Queryable, subscriptionId: string): Promise<void> {
  await db.query('UPDATE subscription_delivery SET lease_until = NULL WHERE subscription_id = $1', [subscriptionId]);
}
