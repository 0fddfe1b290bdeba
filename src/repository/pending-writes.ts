/**
 * New resources of a transaction Bundle written in bulk. Inside a deferred transaction the
 * repository collects the rows of every created resource and writes them when asked (at the end of
 * a processing step, and before commit): a statement for the current, history and reference rows
 * of many resources at once, and one call per WriteListener (onWrites, when the listener can take many changes at
 * once). A 100-entry transaction then costs a handful of statements instead of two per entry.
 *
 * The rows go to the database in statements of at most WRITE_BATCH_CHARS of resource JSON: the
 * driver turns each array parameter into one text literal and then one protocol message, so a
 * single statement for a 30 MB Bundle would hold two more copies of all its JSON at once.
 *
 * Only creates are collected: no earlier row of theirs needs replacing, and no other entry of the
 * same transaction may touch them (http.html#trules), so nothing reads them before the flush except
 * searches, which see the database as it was when the step began, as the transaction plan did.
 */
import type { Queryable } from '../storage/database.js';
import type { ResolvedReference } from './references.js';
import type { ResourceChange, StoredVersion, WriteListener } from './types.js';

const WRITE_VERSIONS = `
  WITH v AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::timestamptz[], $5::text[], $6::text[])
      WITH ORDINALITY AS v(resource_type, id, version_id, last_updated, method, content, n)
  ), current_rows AS (
    INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content)
    SELECT resource_type, id, version_id, last_updated, false, content FROM v ORDER BY n
    ON CONFLICT (resource_type, id) DO UPDATE
      SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
          deleted = false, content = EXCLUDED.content
  ), reference_rows AS (
    INSERT INTO resource_reference (source_type, source_id, target_type, target_id)
    SELECT * FROM unnest($7::text[], $8::text[], $9::text[], $10::text[])
  )
  INSERT INTO resource_history (resource_type, id, version_id, last_updated, method, deleted, content)
  SELECT resource_type, id, version_id, last_updated, method, false, content FROM v ORDER BY n`;

/** Resource JSON per statement: big enough that a statement's round trip is noise, small next to the body limit. */
const WRITE_BATCH_CHARS = 4 * 1024 * 1024;

interface PendingCreate {
  readonly change: ResourceChange;
  readonly references: readonly ResolvedReference[];
}

export class PendingWrites {
  private creates: PendingCreate[] = [];
  /** `Type/id` -> its pending version: looked up on every read inside the transaction. */
  private byIdentity = new Map<string, StoredVersion>();

  /** A created resource (no previous version, or a deleted one) to write at the next flush. */
  add(change: ResourceChange, references: readonly ResolvedReference[]): void {
    this.creates.push({ change, references });
    this.byIdentity.set(`${change.version.resourceType}/${change.version.id}`, change.version);
  }

  /** A resource created earlier in this transaction and not yet written, as its stored version. */
  find(resourceType: string, id: string): StoredVersion | undefined {
    return this.byIdentity.get(`${resourceType}/${id}`);
  }

  /** Writes everything collected so far, in the order it was collected (history order). */
  async flush(tx: Queryable, listeners: readonly WriteListener[]): Promise<void> {
    const creates = this.creates;
    if (creates.length === 0) {
      return;
    }
    this.creates = [];
    this.byIdentity = new Map();
    let start = 0;
    while (start < creates.length) {
      let end = start;
      let chars = 0;
      while (end < creates.length && (end === start || chars < WRITE_BATCH_CHARS)) {
        chars += creates[end]?.change.version.json?.length ?? 0;
        end++;
      }
      await writeRows(tx, creates.slice(start, end));
      start = end;
    }
    const changes = creates.map((c) => c.change);
    for (const listener of listeners) {
      if (listener.onWrites) {
        await listener.onWrites(tx, changes);
      } else {
        for (const change of changes) {
          await listener.onWrite(tx, change);
        }
      }
    }
  }
}

/** One statement for the current, history and reference rows of some creates. */
async function writeRows(tx: Queryable, creates: readonly PendingCreate[]): Promise<void> {
  const versions = creates.map((c) => c.change.version);
  const references = creates.flatMap((c) => c.references.map((r) => [c.change.version, r] as const));
  await tx.query(WRITE_VERSIONS, [
    versions.map((v) => v.resourceType),
    versions.map((v) => v.id),
    versions.map((v) => v.versionId),
    versions.map((v) => v.lastUpdated),
    versions.map((v) => v.method),
    versions.map((v) => v.json),
    references.map(([v]) => v.resourceType),
    references.map(([v]) => v.id),
    references.map(([, r]) => r.resourceType),
    references.map(([, r]) => r.id),
  ]);
}
