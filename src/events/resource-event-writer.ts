/**
 * Writes the change events of a transaction (resource_event, 014_resource_event.sql): a
 * WriteListener that collects one event per committed create, update, patch and delete, also those
 * of transaction Bundles and of domain rules, and inserts them all as the transaction's last
 * statement (beforeCommit), so that the counter row is locked only for the moment before commit.
 *
 * The numbers come from the one-row event_counter, not from a sequence: the UPDATE both reserves
 * a block of n numbers and holds the row lock until commit, so the next writer reserves its block
 * only after this one committed (numbers follow commit order), and a rollback returns the block
 * (no gaps). On PGlite the one session serialises transactions anyway.
 *
 * AuditEvent gets no event: the audit trail is bookkeeping of every request, kept apart from
 * the clinical record (audit/audit-trail.ts writes it without listeners). Provenance does: clients
 * search it like any resource.
 */
import type { ResourceChange, WriteListener } from '../repository/types.js';
import type { Queryable } from '../storage/database.js';
import type { EventInteraction } from './resource-event.js';

interface PendingEvent {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: number;
  readonly interaction: EventInteraction;
}

const NO_EVENTS: ReadonlySet<string> = new Set(['AuditEvent']);

function interactionOf(change: ResourceChange): EventInteraction {
  if (change.kind !== 'update') {
    return change.kind;
  }
  return change.version.method === 'PATCH' ? 'patch' : 'update';
}

// The patients come from resource_patient as it stands after every write of the transaction
// (auth/care-relations.ts keeps it; its rows outlive a delete, so a deletion keeps its patients).
const INSERT_EVENTS = `
  WITH counter AS (
    UPDATE event_counter SET last = last + $1 RETURNING last
  ), e AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::integer[], $5::text[]) WITH ORDINALITY AS e(resource_type, id, version_id, interaction, n)
  )
  INSERT INTO resource_event (seq, resource_type, resource_id, version_id, interaction, patients)
  SELECT counter.last - $1 + e.n, e.resource_type, e.id, e.version_id, e.interaction,
         COALESCE((SELECT array_agg(p.patient_id ORDER BY p.patient_id) FROM resource_patient p
                    WHERE p.resource_type = e.resource_type AND p.id = e.id), '{}')
    FROM counter, e`;

/**
 * The outbox's WriteListener. `committed` is called after a transaction with events committed
 * (the dispatcher's wake-up).
 */
export function createResourceEventWriter(committed: () => void = () => undefined): WriteListener {
  // Keyed by the transaction handle: each transaction (and each retry of one) has its own.
  const pending = new WeakMap<Queryable, PendingEvent[]>();
  const wrote = new WeakSet<Queryable>();
  const collect = (tx: Queryable, change: ResourceChange): void => {
    const { resourceType, id, versionId } = change.version;
    if (NO_EVENTS.has(resourceType)) {
      return;
    }
    let events = pending.get(tx);
    if (!events) {
      events = [];
      pending.set(tx, events);
    }
    events.push({ resourceType, id, versionId, interaction: interactionOf(change) });
  };
  return {
    async onWrite(tx, change) {
      collect(tx, change);
    },
    async onWrites(tx, changes) {
      for (const change of changes) {
        collect(tx, change);
      }
    },
    async beforeCommit(tx) {
      const events = pending.get(tx);
      if (!events || events.length === 0) {
        return;
      }
      pending.delete(tx);
      await tx.query(INSERT_EVENTS, [
        events.length,
        events.map((e) => e.resourceType),
        events.map((e) => e.id),
        events.map((e) => e.versionId),
        events.map((e) => e.interaction),
      ]);
      wrote.add(tx);
    },
    afterCommit(tx) {
      if (wrote.has(tx)) {
        wrote.delete(tx);
        committed();
      }
    },
  };
}
