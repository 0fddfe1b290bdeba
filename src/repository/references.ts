/**
 * Referential integrity: local references of current resources are kept in resource_reference,
 * so that a write can check its targets exist and a delete can refuse while others point at it.
 */
import type { Resource } from '@medplum/fhirtypes';
import { collectReferences, parseLocalReference } from '../fhir/references.js';
import { conflict, issue, unprocessable } from '../fhir/outcomes.js';
import type { Queryable } from '../storage/database.js';

export interface ResolvedReference {
  readonly resourceType: string;
  readonly id: string;
  /** First JSON path where the reference occurs, for error messages. */
  readonly path: string;
}

/**
 * Accountability records may point at deleted resources; their references never block a delete.
 * https://hl7.org/fhir/R4/provenance.html, https://hl7.org/fhir/R4/auditevent.html
 */
export const NON_BLOCKING_SOURCES = ['Provenance', 'AuditEvent'];

/**
 * Distinct local `Type/id` targets of a resource (contained `#x` and external URLs excluded).
 * References inside the entries of a stored Bundle (a document, a message) resolve against the
 * Bundle's own entries (https://hl7.org/fhir/R4/bundle.html#references), not against this server.
 */
export function localReferences(resource: Resource, baseUrl: string | undefined): ResolvedReference[] {
  const seen = new Map<string, ResolvedReference>();
  for (const { reference, path } of collectReferences(resource, resource.resourceType)) {
    if (resource.resourceType === 'Bundle' && path.startsWith('Bundle.entry[')) {
      continue;
    }
    const local = parseLocalReference(reference, baseUrl);
    if (local) {
      const key = `${local.resourceType}/${local.id}`;
      if (!seen.has(key)) {
        seen.set(key, { resourceType: local.resourceType, id: local.id, path });
      }
    }
  }
  return [...seen.values()];
}

/** Which of the given targets exist as current (not deleted) resources, as `Type/id` keys. */
export async function existingTargets(
  tx: Queryable,
  targets: ReadonlyArray<{ readonly resourceType: string; readonly id: string }>
): Promise<Set<string>> {
  const rows = await tx.query<{ resource_type: string; id: string }>(
    `SELECT r.resource_type, r.id FROM resource r
       JOIN unnest($1::text[], $2::text[]) AS t(resource_type, id)
         ON r.resource_type = t.resource_type AND r.id = t.id
      WHERE NOT r.deleted`,
    [targets.map((r) => r.resourceType), targets.map((r) => r.id)]
  );
  return new Set(rows.map((r) => `${r.resource_type}/${r.id}`));
}

/** 422 naming each local reference whose target does not exist (or is deleted). */
export async function assertTargetsExist(
  tx: Queryable,
  source: Resource,
  references: readonly ResolvedReference[]
): Promise<void> {
  const others = references.filter((r) => !(r.resourceType === source.resourceType && r.id === source.id));
  if (others.length === 0) {
    return;
  }
  const found = await existingTargets(tx, others);
  const missing = others.filter((r) => !found.has(`${r.resourceType}/${r.id}`));
  if (missing.length > 0) {
    throw unprocessable(
      missing.map((r) =>
        issue({
          code: 'not-found',
          text: `Referenced resource ${r.resourceType}/${r.id} does not exist`,
          expression: r.path,
        })
      )
    );
  }
}

export async function replaceReferences(
  tx: Queryable,
  resourceType: string,
  id: string,
  references: readonly ResolvedReference[]
): Promise<void> {
  await tx.query('DELETE FROM resource_reference WHERE source_type = $1 AND source_id = $2', [resourceType, id]);
  if (references.length > 0) {
    await tx.query(
      `INSERT INTO resource_reference (source_type, source_id, target_type, target_id)
       SELECT $1, $2, t.target_type, t.target_id FROM unnest($3::text[], $4::text[]) AS t(target_type, target_id)`,
      [resourceType, id, references.map((r) => r.resourceType), references.map((r) => r.id)]
    );
  }
}

/** 409 when other current resources (except accountability records) reference the target. */
export async function assertNotReferenced(tx: Queryable, resourceType: string, id: string): Promise<void> {
  const rows = await tx.query<{ source_type: string; source_id: string }>(
    `SELECT source_type, source_id FROM resource_reference
      WHERE target_type = $1 AND target_id = $2
        AND NOT (source_type = $1 AND source_id = $2)
        AND source_type <> ALL($3::text[])
      ORDER BY source_type, source_id LIMIT 5`,
    [resourceType, id, NON_BLOCKING_SOURCES]
  );
  if (rows.length > 0) {
    const list = rows.map((r) => `${r.source_type}/${r.source_id}`).join(', ');
    throw conflict(`${resourceType}/${id} cannot be deleted: it is referenced by ${list}`);
  }
}
