/**
 * History reads: https://hl7.org/fhir/R4/http.html#history. Newest first, paged by a keyset cursor
 * on the history sequence, so pages stay stable while new versions are written.
 */
import type { Queryable } from '../storage/database.js';
import { toIso } from './rows.js';
import type { HistoryPage, HistoryQuery, StoredVersion, WriteMethod } from './types.js';

interface HistoryRow {
  seq: string | number;
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: Date | string;
  method: WriteMethod;
  deleted: boolean;
  content: string | null;
}

export async function readHistory(db: Queryable, query: HistoryQuery): Promise<HistoryPage> {
  const params: unknown[] = [];
  const where: string[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (query.resourceType !== undefined) {
    where.push(`resource_type = ${bind(query.resourceType)}`);
  }
  if (query.id !== undefined) {
    where.push(`id = ${bind(query.id)}`);
  }
  const narrowing = query.access?.({ alias: 'h', bind });
  if (narrowing !== undefined) {
    where.push(narrowing);
  }
  if (query.since !== undefined) {
    where.push(`last_updated >= ${bind(query.since.toISOString())}`);
  }
  let source = 'resource_history h';
  if (query.at !== undefined) {
    // A version was current during [start, end) when it was written before the end and its
    // successor (if any) came after the start.
    const inner = [...where, `last_updated < ${bind(query.at.end.toISOString())}`];
    source = `(SELECT h.*, lead(h.last_updated) OVER (PARTITION BY h.resource_type, h.id ORDER BY h.version_id) AS superseded_at
                 FROM resource_history h WHERE ${inner.join(' AND ')}) AS v`;
    where.length = 0;
    where.push(`(superseded_at IS NULL OR superseded_at > ${bind(query.at.start.toISOString())})`);
  }
  const filter = where.length > 0 ? where.join(' AND ') : 'true';
  let total: number | undefined;
  if (query.withTotal) {
    const rows = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${source} WHERE ${filter}`, params);
    total = Number(rows[0]?.n ?? 0);
  }
  const pageParams = [...params];
  let pageFilter = filter;
  if (query.before !== undefined) {
    pageParams.push(query.before);
    pageFilter += ` AND seq < $${pageParams.length}`;
  }
  pageParams.push(query.count + 1);
  const rows = await db.query<HistoryRow>(
    `SELECT seq, resource_type, id, version_id, last_updated, method, deleted, content
       FROM ${source} WHERE ${pageFilter} ORDER BY seq DESC LIMIT $${pageParams.length}`,
    pageParams
  );
  const page = rows.slice(0, query.count);
  const last = page[page.length - 1];
  const versions: StoredVersion[] = page.map((row) => ({
    resourceType: row.resource_type,
    id: row.id,
    versionId: row.version_id,
    lastUpdated: toIso(row.last_updated),
    deleted: row.deleted,
    json: row.content ?? undefined,
    method: row.method,
  }));
  return {
    versions,
    total,
    next: rows.length > query.count && last ? String(last.seq) : undefined,
    snapshot: page[0] ? String(BigInt(page[0].seq) + 1n) : undefined,
  };
}
