/**
 * Row counts of every table the service writes (resources, history, references, and whatever
 * later migrations add, such as search index tables), read directly from the database. The audit
 * log is left out (audit_log, its month partitions, audit_agent): every request, refused ones
 * included, adds its record (docs/security.md), which is exactly what "nothing was written" must
 * not count.
 */
import type { FastifyInstance } from 'fastify';

export async function rowCounts(app: FastifyInstance): Promise<Record<string, number>> {
  const db = app.fhirContext.repo.queryable;
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
        AND left(table_name, 6) <> 'audit_'
      ORDER BY table_name`
  );
  const typed = new Set(
    (
      await db.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'resource_type'`
      )
    ).map((r) => r.table_name)
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of tables) {
    const where = typed.has(table_name) ? ` WHERE resource_type <> 'AuditEvent'` : '';
    const rows = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM "${table_name}"${where}`);
    counts[table_name] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

const baselines = new WeakMap<FastifyInstance, Record<string, number>>();

/** Remembers what the app wrote at start (its profiles and definitions); createTestApp calls it. */
export async function recordBaseline(app: FastifyInstance): Promise<void> {
  baselines.set(app, await rowCounts(app));
}

/** Tables with rows beyond those the app wrote at start, and how many more. */
export async function nonEmptyTables(app: FastifyInstance): Promise<Record<string, number>> {
  const baseline = baselines.get(app) ?? {};
  return Object.fromEntries(
    Object.entries(await rowCounts(app))
      .map(([table, n]): [string, number] => [table, n - (baseline[table] ?? 0)])
      .filter(([, n]) => n !== 0)
  );
}
