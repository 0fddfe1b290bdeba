/**
 * Writes AuditEvents cheaply: one SQL statement per batch of events, whatever their number. Each
 * event becomes a current row, a history row, and index rows for only the parameters the
 * documented audit searches use (AUDIT_SEARCH_PARAMS), not every AuditEvent parameter, so the
 * cost of auditing a read stays one INSERT round trip. No write hooks or listeners run: an
 * AuditEvent is never a relation source, has no patient narrowing (whoever may read the log reads
 * all of it), and nothing may change it afterwards.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { newId } from '../fhir/ids.js';
import { notSupported } from '../fhir/outcomes.js';
import type { QueryParams } from '../fhir/request.js';
import { extractIndexRows } from '../search/index-extract.js';
import { INDEX_TABLES, INDEXED_TYPES, type IndexRows } from '../search/index-rows.js';
import type { Queryable } from '../storage/database.js';
import { toAuditEvent } from './audit-event.js';
import type { AuditRecord } from './audit-record.js';

/** The AuditEvent search parameters that are indexed; a search on any other answers 400. */
export const AUDIT_SEARCH_PARAMS: ReadonlySet<string> = new Set([
  'date',
  'patient',
  'entity',
  'agent',
  'type',
  'subtype',
  'action',
  'outcome',
  '_security',
]);

/** Parameters that shape a result rather than match on an index. */
const RESULT_PARAMS: ReadonlySet<string> = new Set(['_id', '_lastUpdated', '_sort', '_count', '_total', '_summary', '_elements', '_include', '_revinclude', '_cursor']);

/**
 * 400 for an AuditEvent search on a parameter the audit trail does not index: without its index
 * rows it would silently match nothing, which for an access log reads as "nobody looked".
 */
export function assertAuditSearch(query: QueryParams): void {
  for (const [name] of query) {
    const base = name.split(/[:.]/)[0] ?? name;
    if (!AUDIT_SEARCH_PARAMS.has(base) && !RESULT_PARAMS.has(base)) {
      throw notSupported(`AuditEvent search supports ${[...AUDIT_SEARCH_PARAMS].join(', ')}; not ${name}`, name);
    }
  }
}

function statement(events: ReadonlyArray<{ event: AuditEvent; rows: IndexRows }>): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const ids = bind(events.map((e) => e.event.id));
  const recorded = bind(events.map((e) => e.event.recorded));
  const contents = bind(events.map((e) => JSON.stringify(e.event)));
  const ctes = [
    `v AS (SELECT * FROM unnest(${ids}::text[], ${recorded}::timestamptz[], ${contents}::text[]) WITH ORDINALITY AS v(id, recorded, content, n))`,
    `res AS (INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content)
       SELECT 'AuditEvent', id, 1, recorded, false, content FROM v ORDER BY n RETURNING sid, id)`,
    `hist AS (INSERT INTO resource_history (resource_type, id, version_id, last_updated, method, deleted, content)
       SELECT 'AuditEvent', id, 1, recorded, 'POST', false, content FROM v ORDER BY n)`,
  ];
  for (const type of INDEXED_TYPES) {
    const { table, columns } = INDEX_TABLES[type];
    const list = events.flatMap((e) => e.rows[type].map((row) => ({ id: e.event.id, row })));
    if (list.length === 0) {
      continue;
    }
    const names = ['param', 'grp', ...columns.map(([name]) => name)];
    const arrays = [
      `${bind(list.map(({ id }) => id))}::text[]`,
      `${bind(list.map(({ row }) => row.param))}::text[]`,
      `${bind(list.map(({ row }) => row.grp))}::smallint[]`,
      ...columns.map(([, sqlType], i) => `${bind(list.map(({ row }) => row.values[i] ?? null))}::${sqlType}[]`),
    ];
    ctes.push(
      `i_${type} AS (INSERT INTO ${table} (sid, resource_type, ${names.join(', ')})
         SELECT res.sid, 'AuditEvent', ${names.map((n) => `x.${n}`).join(', ')}
           FROM unnest(${arrays.join(', ')}) AS x(id, ${names.join(', ')}) JOIN res ON res.id = x.id)`
    );
  }
  return { sql: `WITH ${ctes.join(',\n')}\nSELECT 1`, params };
}

export class AuditTrail {
  constructor(private readonly site: string) {}

  /** Stores the records as AuditEvents in one statement, on `db` (the write's transaction, if any). */
  async write(db: Queryable, records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) {
      return;
    }
    const events = records.map((record) => {
      const event = toAuditEvent(record, newId(), this.site);
      return { event, rows: extractIndexRows(event, undefined, AUDIT_SEARCH_PARAMS) };
    });
    const { sql, params } = statement(events);
    await db.query(sql, params);
  }
}
