/**
 * docs/operations.md, "National scale", lists every table with its place in a sharded PostgreSQL
 * (Citus). This test holds that list against the schema of a freshly migrated database, so a
 * migration that adds a table without saying how it would be distributed fails here.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { createTestDatabase } from '../helpers/database.js';

interface DocRow {
  readonly table: string;
  readonly citus: string;
  readonly column: string | undefined;
  readonly why: string;
}

function distributionTable(): DocRow[] {
  const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('National scale')) ?? '';
  return section
    .split('\n')
    .map((line) => /^\| `([a-z0-9_]+)` \| ([a-z]+) \| (?:`([a-z0-9_]+)`|–) \| (.+) \|$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ table: m[1] ?? '', citus: m[2] ?? '', column: m[3], why: m[4] ?? '' }));
}

t.test('docs/operations.md places every table of the schema in the distributed database', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.destroy());
  // Tables and partitioned tables; partitions (the audit log's months) go with their parent.
  const tables = (
    await database.db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`
    )
  ).map((r) => r.name);
  const columns = await database.db.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'`
  );
  const rows = distributionTable();
  t.ok(tables.length > 20, `the migrated schema has its tables (${tables.length})`);
  t.ok(rows.length > 0, 'the doc has the table');

  const documented = new Set(rows.map((r) => r.table));
  t.same(tables.filter((name) => !documented.has(name)), [], 'every table of the schema is in the doc');
  t.same(rows.filter((r) => !tables.includes(r.table)).map((r) => r.table), [], 'the doc names no table the schema lacks');
  t.equal(documented.size, rows.length, 'each table once');

  for (const row of rows) {
    t.ok(['distributed', 'reference', 'local'].includes(row.citus), `${row.table}: distributed, reference or local`);
    if (row.citus !== 'distributed') {
      t.equal(row.column, undefined, `${row.table}: only a distributed table has a distribution column`);
      continue;
    }
    t.ok(row.column, `${row.table}: a distributed table names its distribution column`);
    const exists = columns.some((c) => c.table_name === row.table && c.column_name === row.column);
    // A column the schema does not have yet must be said to be one to add.
    t.ok(exists || row.why.includes('(column to add)'), `${row.table}.${row.column}: in the schema, or marked as a column to add`);
  }
});
