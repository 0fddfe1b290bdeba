/**
 * Bundle.total of a searchset (https://hl7.org/fhir/R4/search.html#total), counted over the same
 * narrowed filter as the matches, so a caller never learns how many resources it may not see.
 * - `_total=none`: left out.
 * - `_total=accurate` (and `_summary=count`): count(*).
 * - `_total=estimate`: the PostgreSQL planner's row estimate (EXPLAIN), no scan.
 * - no `_total`: exact while the result has at most `exactLimit` matches (a count that stops after
 *   exactLimit + 1 rows); above that the planner's estimate on PostgreSQL (at least exactLimit + 1,
 *   since that many were seen), and an exact count on PGlite, whose tables are small and whose
 *   planner statistics are never gathered by an autovacuum.
 */
import type { EngineName, Queryable } from '../storage/database.js';
import type { TotalMode } from './request.js';

export interface TotalPolicy {
  /** Largest result counted exactly when the client does not ask (SEARCH_TOTAL_EXACT_LIMIT). */
  readonly exactLimit: number;
  readonly engine: EngineName;
}

export async function estimateMatches(db: Queryable, filter: string, params: readonly unknown[]): Promise<number> {
  const rows = await db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM resource r WHERE ${filter}`, params);
  const raw = rows[0]?.['QUERY PLAN'];
  const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan?: { 'Plan Rows'?: number } }>;
  return Math.round(plan[0]?.Plan?.['Plan Rows'] ?? 0);
}

export async function countMatches(db: Queryable, filter: string, params: readonly unknown[]): Promise<number> {
  const rows = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM resource r WHERE ${filter}`, params);
  return Number(rows[0]?.n ?? 0);
}

async function boundedCount(db: Queryable, filter: string, params: readonly unknown[], limit: number): Promise<number> {
  const rows = await db.query<{ n: string | number }>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM resource r WHERE ${filter} LIMIT ${String(limit + 1)}) m`,
    params
  );
  return Number(rows[0]?.n ?? 0);
}

/** The total a client asked for with `mode`, or the default's; undefined for `none`. */
export async function searchTotal(
  db: Queryable,
  mode: TotalMode | undefined,
  filter: string,
  params: readonly unknown[],
  policy: TotalPolicy
): Promise<number | undefined> {
  switch (mode) {
    case 'none':
      return undefined;
    case 'accurate':
      return countMatches(db, filter, params);
    case 'estimate':
      return estimateMatches(db, filter, params);
    case undefined: {
      const seen = await boundedCount(db, filter, params, policy.exactLimit);
      if (seen <= policy.exactLimit) {
        return seen;
      }
      return policy.engine === 'postgres' ? Math.max(await estimateMatches(db, filter, params), seen) : countMatches(db, filter, params);
    }
  }
}
