/**
 * The rows of one written version in a single statement: the current row (upsert), the history
 * row and the reference rows, as one data-modifying CTE. One round trip instead of three per
 * write matters most where writes come in bulk (a 100-entry transaction Bundle); the statement is
 * all-or-nothing like the transaction around it.
 */
import type { Queryable } from '../storage/database.js';
import type { ResolvedReference } from './references.js';
import type { StoredVersion } from './types.js';

const WRITE_VERSION = `
  WITH current_row AS (
    INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content)
    VALUES ($1::text, $2::text, $3::integer, $4::timestamptz, false, $5::text)
    ON CONFLICT (resource_type, id) DO UPDATE
      SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
          deleted = false, content = EXCLUDED.content
  ), reference_rows AS (
    INSERT INTO resource_reference (source_type, source_id, target_type, target_id)
    SELECT $1::text, $2::text, t.target_type, t.target_id FROM unnest($7::text[], $8::text[]) AS t(target_type, target_id)
  )
  INSERT INTO resource_history (resource_type, id, version_id, last_updated, method, deleted, content)
  VALUES ($1::text, $2::text, $3::integer, $4::timestamptz, $6::text, false, $5::text)`;

/**
 * Writes a new version of a resource that is not deleted. `clearReferences` first removes the
 * previous version's reference rows; a resource that is new (or was deleted) has none.
 */
export async function writeVersionRows(
  tx: Queryable,
  version: StoredVersion,
  references: readonly ResolvedReference[],
  clearReferences: boolean
): Promise<void> {
  if (clearReferences) {
    // A separate statement: inside one CTE a DELETE and an INSERT of the same key would collide.
    await tx.query('DELETE FROM resource_reference WHERE source_type = $1 AND source_id = $2', [version.resourceType, version.id]);
  }
  await tx.query(WRITE_VERSION, [
    version.resourceType,
    version.id,
    version.versionId,
    version.lastUpdated,
    version.json,
    version.method,
    references.map((r) => r.resourceType),
    references.map((r) => r.id),
  ]);
}
