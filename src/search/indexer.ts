/**
 * The search indexer: a WriteListener that keeps the index tables in step with every write, inside
 * the write's transaction. Create inserts, update replaces, delete removes. All of it is one SQL
 * statement per write: data-modifying CTEs delete the old rows and insert the new ones, each table
 * fed by one unnest of column arrays, whatever the number of values.
 */
import type { ResourceChange, WriteListener } from '../repository/types.js';
import type { Queryable } from '../storage/database.js';
import { extractIndexRows } from './index-extract.js';
import { INDEX_TABLES, INDEXED_TYPES, type IndexRows } from './index-rows.js';

/**
 * One statement that replaces the index rows of (resourceType, id). The CTEs of one statement see
 * the same snapshot, so the deletes only remove the rows that existed before it.
 */
export function indexStatement(
  resourceType: string,
  id: string,
  rows: IndexRows | undefined,
  replace: boolean
): { sql: string; params: unknown[] } | undefined {
  const params: unknown[] = [resourceType, id];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const ctes: string[] = ['r AS (SELECT sid FROM resource WHERE resource_type = $1 AND id = $2)'];
  for (const type of INDEXED_TYPES) {
    const { table, columns } = INDEX_TABLES[type];
    if (replace) {
      // `= (SELECT sid FROM r)` is an index lookup on sid whatever the statistics say; a join
      // `USING r` let the planner choose a sequential scan of the whole index table on PGlite,
      // which has no autovacuum to gather statistics (43 ms instead of 1 per update at 30k rows).
      ctes.push(`d_${type} AS (DELETE FROM ${table} x WHERE x.sid = (SELECT sid FROM r))`);
    }
    const list = rows?.[type] ?? [];
    if (list.length === 0) {
      continue;
    }
    const arrays = [
      `${bind(list.map((row) => row.param))}::text[]`,
      `${bind(list.map((row) => row.grp))}::smallint[]`,
      ...columns.map(([, sqlType], i) => `${bind(list.map((row) => row.values[i] ?? null))}::${sqlType}[]`),
    ];
    const names = ['param', 'grp', ...columns.map(([name]) => name)];
    ctes.push(
      `i_${type} AS (INSERT INTO ${table} (sid, resource_type, ${names.join(', ')})
         SELECT r.sid, $1, v.* FROM r, unnest(${arrays.join(', ')}) AS v(${names.join(', ')}))`
    );
  }
  if (ctes.length === 1) {
    return undefined;
  }
  return { sql: `WITH ${ctes.join(',\n')}\nSELECT 1`, params };
}

/**
 * One statement that inserts the index rows of many new resources (nothing to replace): each
 * table fed by one unnest whose rows carry (resource_type, id), joined to resource for the sid.
 * For the bulk writes of a transaction Bundle (repository/pending-writes.ts).
 */
export function indexStatementForNew(
  items: ReadonlyArray<{ resourceType: string; id: string; rows: IndexRows }>
): { sql: string; params: unknown[] } | undefined {
  const params: unknown[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const ctes: string[] = [];
  for (const type of INDEXED_TYPES) {
    const { table, columns } = INDEX_TABLES[type];
    const list = items.flatMap((item) => item.rows[type].map((row) => ({ item, row })));
    if (list.length === 0) {
      continue;
    }
    const arrays = [
      `${bind(list.map(({ item }) => item.resourceType))}::text[]`,
      `${bind(list.map(({ item }) => item.id))}::text[]`,
      `${bind(list.map(({ row }) => row.param))}::text[]`,
      `${bind(list.map(({ row }) => row.grp))}::smallint[]`,
      ...columns.map(([, sqlType], i) => `${bind(list.map(({ row }) => row.values[i] ?? null))}::${sqlType}[]`),
    ];
    const names = ['param', 'grp', ...columns.map(([name]) => name)];
    ctes.push(
      `i_${type} AS (INSERT INTO ${table} (sid, resource_type, ${names.join(', ')})
         SELECT r.sid, v.resource_type, ${names.map((n) => `v.${n}`).join(', ')}
           FROM unnest(${arrays.join(', ')}) AS v(resource_type, id, ${names.join(', ')})
           JOIN resource r ON r.resource_type = v.resource_type AND r.id = v.id)`
    );
  }
  return ctes.length === 0 ? undefined : { sql: `WITH ${ctes.join(',\n')}\nSELECT 1`, params };
}

/** Nothing to remove when the id is new or its previous version was a deletion. */
function replaces(change: ResourceChange): boolean {
  return change.previous !== undefined && !change.previous.deleted;
}

export function createIndexer(): WriteListener {
  const indexer: WriteListener = {
    async onWrite(tx: Queryable, change: ResourceChange): Promise<void> {
      const { resourceType, id } = change.version;
      const rows = change.resource ? extractIndexRows(change.resource, change.baseUrl) : undefined;
      const statement = indexStatement(resourceType, id, rows, replaces(change));
      if (statement) {
        await tx.query(statement.sql, statement.params);
      }
    },
    async onWrites(tx: Queryable, changes: readonly ResourceChange[]): Promise<void> {
      const fresh = changes.filter((c) => c.resource !== undefined && !replaces(c));
      const statement = indexStatementForNew(
        fresh.map((c) => ({
          resourceType: c.version.resourceType,
          id: c.version.id,
          rows: extractIndexRows(c.resource as NonNullable<ResourceChange['resource']>, c.baseUrl),
        }))
      );
      if (statement) {
        await tx.query(statement.sql, statement.params);
      }
      for (const change of changes.filter((c) => !fresh.includes(c))) {
        await indexer.onWrite(tx, change);
      }
    },
  };
  return indexer;
}
