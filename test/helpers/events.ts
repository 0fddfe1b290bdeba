/** Reading the change-event outbox (resource_event, 014_resource_event.sql) directly, for tests. */
import type { FastifyInstance } from 'fastify';

export interface EventRow {
  readonly seq: number;
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: number;
  readonly interaction: string;
  readonly patients: string[];
}

/** The last event number handed out (0 before any). */
export async function eventHead(app: FastifyInstance): Promise<number> {
  const rows = await app.fhirContext.repo.queryable.query<{ last: string | number }>('SELECT last FROM event_counter');
  return Number(rows[0]?.last ?? 0);
}

/** Every event after `after`, in seq order. */
export async function eventsAfter(app: FastifyInstance, after: number): Promise<EventRow[]> {
  const rows = await app.fhirContext.repo.queryable.query<{
    seq: string | number;
    resource_type: string;
    resource_id: string;
    version_id: number;
    interaction: string;
    patients: string[];
  }>('SELECT seq, resource_type, resource_id, version_id, interaction, patients FROM resource_event WHERE seq > $1 ORDER BY seq', [after]);
  return rows.map((r) => ({
    seq: Number(r.seq),
    resourceType: r.resource_type,
    id: r.resource_id,
    versionId: r.version_id,
    interaction: r.interaction,
    patients: r.patients,
  }));
}

/** The consumer's recorded position, undefined when it never registered. */
export async function consumerPosition(app: FastifyInstance, name: string): Promise<number | undefined> {
  const rows = await app.fhirContext.repo.queryable.query<{ position: string | number }>('SELECT position FROM event_consumer WHERE name = $1', [name]);
  return rows[0] === undefined ? undefined : Number(rows[0].position);
}

/** True when the seqs are exactly from+1, from+2, ... */
export function contiguousFrom(from: number, seqs: readonly number[]): boolean {
  return seqs.every((seq, i) => seq === from + i + 1);
}
