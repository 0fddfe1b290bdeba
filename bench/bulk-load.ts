/**
 * Fast loading for the benchmark: many resources per statement (unnest arrays) instead of one
 * repository write each. The index rows come from the same extraction code the indexer uses
 * (search/index-extract.ts), so what is searched is what a normal write would have indexed.
 */
import type { Resource } from '@medplum/fhirtypes';
import { localReferences } from '../src/repository/references.js';
import { extractIndexRows } from '../src/search/index-extract.js';
import { INDEX_TABLES, INDEXED_TYPES } from '../src/search/index-rows.js';
import type { Database } from '../src/storage/database.js';

export async function bulkLoad(db: Database, resources: readonly Resource[]): Promise<void> {
  const now = new Date().toISOString();
  const stamped = resources.map((r) => ({ ...r, meta: { versionId: '1', lastUpdated: now } }) as Resource & { id: string });
  const types = stamped.map((r) => r.resourceType);
  const ids = stamped.map((r) => r.id);
  const json = stamped.map((r) => JSON.stringify(r));
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content)
       SELECT t, i, 1, $3::timestamptz, false, c FROM unnest($1::text[], $2::text[], $4::text[]) AS v(t, i, c)`,
      [types, ids, now, json]
    );
    await tx.query(
      `INSERT INTO resource_history (resource_type, id, version_id, last_updated, method, deleted, content)
       SELECT t, i, 1, $3::timestamptz, 'POST', false, c FROM unnest($1::text[], $2::text[], $4::text[]) AS v(t, i, c)`,
      [types, ids, now, json]
    );
    const refs = stamped.flatMap((r) => localReferences(r, undefined).map((ref) => [r.resourceType, r.id, ref.resourceType, ref.id] as const));
    await tx.query(
      `INSERT INTO resource_reference (source_type, source_id, target_type, target_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`,
      [refs.map((r) => r[0]), refs.map((r) => r[1]), refs.map((r) => r[2]), refs.map((r) => r[3])]
    );
    const extracted = stamped.map((r) => extractIndexRows(r));
    for (const type of INDEXED_TYPES) {
      const { table, columns } = INDEX_TABLES[type];
      const rows = extracted.flatMap((rowsOf, n) => rowsOf[type].map((row) => ({ n, row })));
      if (rows.length === 0) {
        continue;
      }
      const names = ['param', 'grp', ...columns.map(([name]) => name)];
      const arrays = [
        `$3::text[]`,
        `$4::smallint[]`,
        ...columns.map(([, sqlType], i) => `$${i + 5}::${sqlType}[]`),
      ];
      await tx.query(
        `INSERT INTO ${table} (sid, resource_type, ${names.join(', ')})
         SELECT r.sid, r.resource_type, v.${names.join(', v.')}
           FROM unnest($1::text[], $2::text[], ${arrays.join(', ')}) AS v(t, i, ${names.join(', ')})
           JOIN resource r ON r.resource_type = v.t AND r.id = v.i`,
        [
          rows.map(({ n }) => types[n]),
          rows.map(({ n }) => ids[n]),
          rows.map(({ row }) => row.param),
          rows.map(({ row }) => row.grp),
          ...columns.map((_, i) => rows.map(({ row }) => row.values[i] ?? null)),
        ]
      );
    }
  });
}
