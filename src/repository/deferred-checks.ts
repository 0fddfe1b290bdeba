/**
 * Referential integrity checked once at the end of a transaction instead of at every write, like
 * SQL's deferred constraints. A transaction Bundle may hold references between its entries in any
 * order, circular ones included (https://hl7.org/fhir/R4/http.html#trules), so a target may be
 * written after the resource that points at it, and a DELETE (processed first) may be followed by
 * the update that drops the last reference to it. Checking everything in two set-based queries at
 * the end also saves a round trip per entry.
 */
import { issue, OperationOutcomeError, outcome, unprocessable } from '../fhir/outcomes.js';
import type { Queryable } from '../storage/database.js';
import { existingTargets, NON_BLOCKING_SOURCES, type ResolvedReference } from './references.js';

/** Where the caller wants an issue anchored: a FHIRPath root for a resource (e.g. `Bundle.entry[2].resource`). */
export type LocateResource = (resourceType: string, id: string) => string | undefined;

interface PendingWrite {
  readonly resourceType: string;
  readonly id: string;
  readonly references: readonly ResolvedReference[];
}

const key = (resourceType: string, id: string): string => `${resourceType}/${id}`;

export class DeferredIntegrityChecks {
  private readonly writes = new Map<string, PendingWrite>();
  private readonly deletes = new Map<string, { resourceType: string; id: string }>();

  /** Records the local references of a write; a later write of the same resource replaces them. */
  addWrite(resourceType: string, id: string, references: readonly ResolvedReference[]): void {
    this.writes.set(key(resourceType, id), { resourceType, id, references });
    this.deletes.delete(key(resourceType, id));
  }

  addDelete(resourceType: string, id: string): void {
    this.deletes.set(key(resourceType, id), { resourceType, id });
    this.writes.delete(key(resourceType, id));
  }

  /**
   * 422 when a written resource points at a target that does not exist (or is deleted) at the
   * end of the transaction; 409 when a deleted resource is still referenced by a current one.
   */
  async verify(tx: Queryable, locate: LocateResource): Promise<void> {
    await this.verifyTargets(tx, locate);
    await this.verifyDeletes(tx, locate);
  }

  private async verifyTargets(tx: Queryable, locate: LocateResource): Promise<void> {
    const pairs: Array<{ source: PendingWrite; target: ResolvedReference }> = [];
    for (const write of this.writes.values()) {
      for (const target of write.references) {
        if (!(target.resourceType === write.resourceType && target.id === write.id)) {
          pairs.push({ source: write, target });
        }
      }
    }
    if (pairs.length === 0) {
      return;
    }
    const distinct = [...new Map(pairs.map((p) => [key(p.target.resourceType, p.target.id), p.target])).values()];
    const found = await existingTargets(tx, distinct);
    const missing = pairs.filter((p) => !found.has(key(p.target.resourceType, p.target.id)));
    if (missing.length > 0) {
      throw unprocessable(
        missing.map(({ source, target }) =>
          issue({
            code: 'not-found',
            text: `Referenced resource ${target.resourceType}/${target.id} does not exist`,
            expression: anchored(target.path, source.resourceType, locate(source.resourceType, source.id)),
          })
        )
      );
    }
  }

  private async verifyDeletes(tx: Queryable, locate: LocateResource): Promise<void> {
    if (this.deletes.size === 0) {
      return;
    }
    const deleted = [...this.deletes.values()];
    const rows = await tx.query<{ source_type: string; source_id: string; target_type: string; target_id: string }>(
      `SELECT rr.source_type, rr.source_id, rr.target_type, rr.target_id FROM resource_reference rr
         JOIN unnest($1::text[], $2::text[]) AS t(resource_type, id)
           ON rr.target_type = t.resource_type AND rr.target_id = t.id
        WHERE NOT (rr.source_type = rr.target_type AND rr.source_id = rr.target_id)
          AND rr.source_type <> ALL($3::text[])
        ORDER BY rr.target_type, rr.target_id, rr.source_type, rr.source_id LIMIT 20`,
      [deleted.map((d) => d.resourceType), deleted.map((d) => d.id), NON_BLOCKING_SOURCES]
    );
    if (rows.length > 0) {
      throw new OperationOutcomeError(
        outcome(
          'conflict',
          rows.map((r) => {
            const where = locate(r.target_type, r.target_id);
            return issue({
              code: 'conflict',
              text: `${r.target_type}/${r.target_id} cannot be deleted: it is referenced by ${r.source_type}/${r.source_id}`,
              ...(where !== undefined ? { expression: where } : {}),
            });
          })
        )
      );
    }
  }
}

/** `Task.focus` of the resource at `Bundle.entry[2].resource` -> `Bundle.entry[2].resource.focus`. */
function anchored(path: string, resourceType: string, root: string | undefined): string {
  if (root === undefined || !(path === resourceType || path.startsWith(`${resourceType}.`) || path.startsWith(`${resourceType}[`))) {
    return path;
  }
  return root + path.slice(resourceType.length);
}
