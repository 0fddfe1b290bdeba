/**
 * The change events of the outbox (storage/migrations/014_resource_event.sql): what a consumer
 * after commit is told about each committed write, and the consumer interface itself.
 */

/** The RESTful interaction that made a version (https://hl7.org/fhir/R4/http.html). */
export type EventInteraction = 'create' | 'update' | 'patch' | 'delete';

/** One committed write, numbered gap-free in commit order. */
export interface ResourceEvent {
  /** Position in the event stream: 1, 2, 3... with no gaps, in commit order. */
  readonly seq: number;
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: number;
  readonly interaction: EventInteraction;
  /** Ids of the Patients the resource belongs to (auth/patients-of.ts), sorted; empty for none. */
  readonly patients: readonly string[];
  /** FHIR instant at which the event row was written, just before commit. */
  readonly recorded: string;
}

/**
 * Work after commit (subscriptions, caches, exports). Delivery is at least once: after a crash or
 * a throw the same events come again, so handle must be safe to run twice. Events come in seq
 * order, in batches; a consumer that throws gets the same batch again later (with backoff).
 */
export interface EventConsumer {
  /** Stable name: the key of its position in event_consumer. */
  readonly name: string;
  /**
   * Milliseconds a consumer wants between two batches under load (0 or absent: as soon as events
   * are committed). Work that costs the same per batch whatever its length (one query per
   * Subscription, one notification per receiver) then gets more events per batch; an event after a
   * quiet spell is still handed over at once.
   */
  readonly intervalMs?: number;
  handle(events: readonly ResourceEvent[]): Promise<void>;
}
