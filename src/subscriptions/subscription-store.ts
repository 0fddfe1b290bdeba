/**
 * The engine's SQL (016_subscription.sql): delivery state, numbered events, and the Subscriptions
 * themselves as stored. Same statements on PGlite and PostgreSQL.
 */
import type { Subscription } from '@medplum/fhirtypes';
import type { Queryable } from '../storage/database.js';
import type { ResourceEvent } from '../events/resource-event.js';
import type { Principal } from '../auth/principal.js';
import { keptOrMade } from './memo.js';
import type { NumberedEvent } from './notification-bundle.js';
import { ownerOf } from './subscription-owner.js';

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

/** The delivery-state columns every listing of a Subscription reads (StateRow). */
const STATE_COLUMNS = 'r.id, r.version_id, d.start_seq, d.events_since_start, d.delivered_through, d.failures, d.next_attempt, d.last_sent';
const FROM_DELIVERY = `FROM subscription_delivery d JOIN resource r ON r.resource_type = 'Subscription' AND r.id = d.subscription_id AND NOT r.deleted`;
const SELECT_DELIVERY = `SELECT ${STATE_COLUMNS}, r.content ${FROM_DELIVERY}`;
const SELECT_STATE = `SELECT ${STATE_COLUMNS} ${FROM_DELIVERY}`;

function toStored(row: Omit<DeliveryRow, 'content'>, subscription: Subscription & { id: string }, versionId = row.version_id): StoredSubscription {
  return {
    subscription,
    versionId,
    startSeq: Number(row.start_seq),
    eventsSinceStart: Number(row.events_since_start),
    deliveredThrough: Number(row.delivered_through),
    failures: row.failures,
    nextAttempt: row.next_attempt === null ? 0 : new Date(row.next_attempt).getTime(),
    lastSent: row.last_sent === null ? 0 : new Date(row.last_sent).getTime(),
  };
}

type StateRow = Omit<DeliveryRow, 'content'>;

/**
 * The Subscriptions with delivery state, for the matcher and the sender that list them after
 * every batch: the delivery state is read each time, the resource only when its version is one
 * not seen before (a list of a hundred is then one small query rather than a hundred resources
 * parsed). One catalog per engine and database.
 */
export class SubscriptionCatalog {
  private readonly parsed = new Map<string, { readonly versionId: number; readonly subscription: Subscription & { id: string } }>();
  /** Owners never change (subscription-owner.ts: the first writer stays): read once per Subscription. */
  private readonly owners = new Map<string, Promise<Principal | undefined>>();

  /** Every Subscription with delivery state whose status is one of `statuses`, in id order. */
  async withStatus(db: Queryable, statuses: readonly string[]): Promise<StoredSubscription[]> {
    const rows = await db.query<StateRow>(`${SELECT_STATE} ORDER BY r.id`);
    await this.load(db, rows);
    const listed = new Set(rows.map((r) => r.id));
    for (const kept of [this.parsed, this.owners]) {
      for (const id of kept.keys()) {
        if (!listed.has(id)) {
          kept.delete(id);
        }
      }
    }
    return rows.flatMap((row) => this.stored(row) ?? []).filter((s) => statuses.includes(s.subscription.status ?? ''));
  }

  /** The principal the Subscription notifies for; undefined for one the server made itself. */
  owner(db: Queryable, subscriptionId: string): Promise<Principal | undefined> {
    return keptOrMade(this.owners, subscriptionId, () => {
      const owner = ownerOf(db, subscriptionId);
      // A failed read is not kept: the next pass reads again.
      owner.catch(() => this.owners.delete(subscriptionId));
      return owner;
    });
  }

  /** One Subscription with its delivery state as it is now, or undefined. */
  async one(db: Queryable, subscriptionId: string): Promise<StoredSubscription | undefined> {
    const rows = await db.query<StateRow>(`${SELECT_STATE} WHERE d.subscription_id = $1`, [subscriptionId]);
    await this.load(db, rows);
    return rows[0] === undefined ? undefined : this.stored(rows[0]);
  }

  /**
   * Takes the Subscription for one sender (this node, this pass) until `leaseMs` from now, and
   * answers it as it is now (another node may have delivered since it was listed); undefined when
   * another sender holds it. A lease rather than a held transaction: a delivery waits on a receiver.
   */
  async lease(db: Queryable, subscriptionId: string, leaseMs: number): Promise<StoredSubscription | undefined> {
    const rows = await db.query<StateRow>(
      `UPDATE subscription_delivery d SET lease_until = now() + ($2 * interval '1 millisecond')
         FROM resource r
        WHERE d.subscription_id = $1 AND (d.lease_until IS NULL OR d.lease_until < now())
          AND r.resource_type = 'Subscription' AND r.id = d.subscription_id AND NOT r.deleted
        RETURNING ${STATE_COLUMNS}`,
      [subscriptionId, leaseMs]
    );
    await this.load(db, rows);
    return rows[0] === undefined ? undefined : this.stored(rows[0]);
  }

  private async load(db: Queryable, rows: readonly StateRow[]): Promise<void> {
    const missing = rows.filter((r) => this.parsed.get(r.id)?.versionId !== r.version_id).map((r) => r.id);
    if (missing.length === 0) {
      return;
    }
    const contents = await db.query<{ id: string; version_id: number; content: string }>(
      `SELECT id, version_id, content FROM resource WHERE resource_type = 'Subscription' AND id IN (${missing.map((_, i) => `$${i + 1}`).join(', ')})`,
      missing
    );
    for (const row of contents) {
      this.parsed.set(row.id, { versionId: row.version_id, subscription: { ...(JSON.parse(row.content) as Subscription), id: row.id } });
    }
  }

  /** The row with its resource; a version written between the two queries counts with its own number (If-Match stays right). */
  private stored(row: StateRow): StoredSubscription | undefined {
    const parsed = this.parsed.get(row.id);
    return parsed === undefined ? undefined : toStored(row, parsed.subscription, parsed.versionId);
  }
}

const fromRow = (row: DeliveryRow): StoredSubscription => toStored(row, { ...(JSON.parse(row.content) as Subscription), id: row.id });

/** A Subscription's create event starts its delivery state; later events are what it is told about. */
export async function startDelivery(db: Queryable, subscriptionId: string, seq: number): Promise<void> {
  await db.query('INSERT INTO subscription_delivery (subscription_id, start_seq) VALUES ($1, $2) ON CONFLICT (subscription_id) DO NOTHING', [
    subscriptionId,
    seq,
  ]);
}

export async function subscriptionState(db: Queryable, subscriptionId: string): Promise<StoredSubscription | undefined> {
  const rows = await db.query<DeliveryRow>(`${SELECT_DELIVERY} WHERE d.subscription_id = $1`, [subscriptionId]);
  return rows[0] === undefined ? undefined : fromRow(rows[0]);
}

/**
 * Numbers the matched events of one run for each Subscription, in the order given (seq order),
 * each once: handling the same outbox events again (delivery is at least once) finds them already
 * numbered. Three statements for the whole run, whatever the number of Subscriptions and events:
 * statements per Subscription would be the matcher's main cost. Run it in one transaction.
 */
export async function recordEvents(db: Queryable, matches: ReadonlyArray<readonly [string, readonly ResourceEvent[]]>): Promise<void> {
  const pairs = matches.flatMap(([id, events]) => events.map((e): [string, number] => [id, e.seq]));
  if (pairs.length === 0) {
    return;
  }
  const seen = await db.query<{ subscription_id: string; seq: string | number }>(
    `SELECT s.subscription_id, s.seq FROM subscription_event s
       JOIN (VALUES ${pairs.map((_, i) => `($${2 * i + 1}::text, $${2 * i + 2}::bigint)`).join(', ')}) AS m(subscription_id, seq)
         ON s.subscription_id = m.subscription_id AND s.seq = m.seq`,
    pairs.flat()
  );
  const numberedAlready = new Set(seen.map((r) => `${r.subscription_id} ${Number(r.seq)}`));
  const fresh = matches
    .map(([id, events]): [string, ResourceEvent[]] => [id, events.filter((e) => !numberedAlready.has(`${id} ${e.seq}`))])
    .filter(([, events]) => events.length > 0);
  if (fresh.length === 0) {
    return;
  }
  const counted = await db.query<{ subscription_id: string; events_since_start: string | number }>(
    `UPDATE subscription_delivery d SET events_since_start = d.events_since_start + m.n
       FROM (VALUES ${fresh.map((_, i) => `($${2 * i + 1}::text, $${2 * i + 2}::bigint)`).join(', ')}) AS m(subscription_id, n)
      WHERE d.subscription_id = m.subscription_id
      RETURNING d.subscription_id, d.events_since_start`,
    fresh.flatMap(([id, events]) => [id, events.length])
  );
  const last = new Map(counted.map((r) => [r.subscription_id, Number(r.events_since_start)]));
  const params: unknown[] = [];
  const rows: string[] = [];
  for (const [id, events] of fresh) {
    const through = last.get(id);
    if (through === undefined) {
      continue;
    }
    const first = through - events.length + 1;
    events.forEach((event, i) => {
      const at = params.length;
      params.push(id, first + i, event.seq, event.resourceType, event.id, event.versionId, event.interaction, event.recorded);
      rows.push(`(${Array.from({ length: 8 }, (_, k) => `$${at + k + 1}`).join(', ')})`);
    });
  }
  if (rows.length > 0) {
    await db.query(
      `INSERT INTO subscription_event (subscription_id, event_number, seq, resource_type, resource_id, version_id, interaction, recorded)
       VALUES ${rows.join(', ')}`,
      params
    );
  }
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
