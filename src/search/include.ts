/**
 * _include and _revinclude (https://hl7.org/fhir/R4/search.html#include): `Type:param[:target]`,
 * `Type:*` or `*`, and `:iterate` to apply them again to what was included, up to MAX_ROUNDS.
 * Included resources go in the Bundle with search.mode = include; each resource appears once.
 */
import { isR4ResourceType } from '../fhir/definitions.js';
import { badRequest } from '../fhir/outcomes.js';
import type { Queryable } from '../storage/database.js';
import { searchParams } from './parameters.js';
import { accessCondition, and, SqlParams, type SqlContext } from './sql/context.js';
import type { AccessFilter } from './types.js';

export interface IncludeSpec {
  readonly reverse: boolean;
  readonly iterate: boolean;
  /** The type holding the reference; undefined for `*` (every type). */
  readonly sourceType: string | undefined;
  /** Reference parameter codes; every reference parameter of sourceType for `*`. */
  readonly params: readonly string[] | undefined;
  readonly targetType: string | undefined;
}

export interface IncludedRow {
  readonly sid: string;
  readonly resource_type: string;
  readonly id: string;
  readonly content: string;
}

const MAX_ROUNDS = 4;

function referenceCodes(type: string): string[] {
  return [...searchParams(type).values()].filter((p) => p.type === 'reference').map((p) => p.code);
}

/** Parses one `_include` / `_revinclude` value. */
export function parseInclude(name: string, value: string): IncludeSpec {
  const reverse = name.startsWith('_revinclude');
  const iterate = name.endsWith(':iterate') || name.endsWith(':recurse');
  if (value === '*') {
    return { reverse, iterate, sourceType: undefined, params: undefined, targetType: undefined };
  }
  const [sourceType, code, targetType] = value.split(':');
  if (!sourceType || !code || !isR4ResourceType(sourceType) || (targetType !== undefined && !isR4ResourceType(targetType))) {
    throw badRequest(`${name} must be Type:parameter[:targetType] or *, got "${value}"`, name);
  }
  if (code === '*') {
    return { reverse, iterate, sourceType, params: referenceCodes(sourceType), targetType };
  }
  const param = searchParams(sourceType).get(code);
  if (!param || param.type !== 'reference') {
    throw badRequest(`${sourceType} has no reference parameter "${code}"`, name);
  }
  return { reverse, iterate, sourceType, params: [code], targetType };
}

async function includeRound(
  db: Queryable,
  spec: IncludeSpec,
  from: readonly IncludedRow[],
  baseUrl: string,
  access: AccessFilter | undefined,
  limit: number
): Promise<IncludedRow[]> {
  const sources = spec.sourceType === undefined ? from : from.filter((row) => spec.reverse || row.resource_type === spec.sourceType);
  if (sources.length === 0) {
    return [];
  }
  const ctx: SqlContext = { params: new SqlParams(), baseUrl, access };
  const bind = (value: unknown): string => ctx.params.bind(value);
  const common = [
    spec.sourceType === undefined ? undefined : `x.resource_type = ${bind(spec.sourceType)}`,
    spec.params === undefined ? "x.param NOT LIKE '%#%'" : `x.param = ANY(${bind(spec.params)}::text[])`,
    spec.targetType === undefined ? undefined : `x.target_type = ${bind(spec.targetType)}`,
  ];
  if (!spec.reverse) {
    const where = and([`x.sid = ANY(${bind(sources.map((r) => r.sid))}::bigint[])`, ...common, 'x.target_id IS NOT NULL']);
    return db.query<IncludedRow>(
      `SELECT t.sid, t.resource_type, t.id, t.content FROM resource t
        WHERE (t.resource_type, t.id) IN (SELECT x.target_type, x.target_id FROM search_reference x WHERE ${where})
          AND ${and(['NOT t.deleted', accessCondition(ctx, 't')])}
        ORDER BY t.sid LIMIT ${bind(limit)}`,
      ctx.params.values
    );
  }
  return db.query<IncludedRow>(
    `SELECT t.sid, t.resource_type, t.id, t.content FROM resource t
      WHERE t.sid IN (SELECT x.sid
               FROM unnest(${bind(sources.map((r) => r.resource_type))}::text[], ${bind(sources.map((r) => r.id))}::text[]) AS m(type, id)
               JOIN search_reference x ON x.target_id = m.id AND x.target_type = m.type WHERE ${and(common)})
        AND ${and([accessCondition(ctx, 't')])}
      ORDER BY t.sid LIMIT ${bind(limit)}`,
    ctx.params.values
  );
}

/** One query per source type and direction: `_include=Task:focus&_include=Task:patient` is one. */
function mergeSpecs(specs: readonly IncludeSpec[]): IncludeSpec[] {
  const merged = new Map<string, IncludeSpec>();
  for (const spec of specs) {
    const key = [spec.reverse, spec.iterate, spec.sourceType ?? '*', spec.targetType ?? '*', spec.params === undefined].join('|');
    const existing = merged.get(key);
    merged.set(key, existing?.params && spec.params ? { ...existing, params: [...new Set([...existing.params, ...spec.params])] } : (existing ?? spec));
  }
  return [...merged.values()];
}

export interface Included {
  readonly rows: IncludedRow[];
  /** False when `limit` cut resources off: the page then carries a warning (search.ts). */
  readonly complete: boolean;
}

/**
 * Resources that the include specs add to the matches: non-iterating specs apply to the matches,
 * iterating ones also to whatever was included before, until nothing new turns up. At most
 * `limit` of them, so that one page of `_revinclude` cannot pull in a whole table: each query asks
 * for one more row than still fits, which tells whether anything was cut.
 */
export async function loadIncludes(
  db: Queryable,
  requested: readonly IncludeSpec[],
  matches: readonly IncludedRow[],
  baseUrl: string,
  access: AccessFilter | undefined,
  limit = Number.MAX_SAFE_INTEGER
): Promise<Included> {
  if (requested.length === 0 || matches.length === 0) {
    return { rows: [], complete: true };
  }
  const specs = mergeSpecs(requested);
  const seen = new Set(matches.map((row) => String(row.sid)));
  const included: IncludedRow[] = [];
  let frontier: readonly IncludedRow[] = matches;
  for (let round = 0; round < MAX_ROUNDS && frontier.length > 0; round++) {
    const found: IncludedRow[] = [];
    for (const spec of specs) {
      if (round > 0 && !spec.iterate) {
        continue;
      }
      const source = round === 0 ? matches : frontier;
      const ask = Math.min(limit - included.length - found.length + 1, Number.MAX_SAFE_INTEGER);
      const rows = await includeRound(db, spec, source, baseUrl, access, ask);
      for (const row of rows) {
        const key = String(row.sid);
        if (seen.has(key)) {
          continue;
        }
        if (included.length + found.length >= limit) {
          return { rows: [...included, ...found], complete: false };
        }
        seen.add(key);
        found.push(row);
      }
      if (rows.length >= ask) {
        // The query stopped at its LIMIT: rows it left out may be new ones.
        return { rows: [...included, ...found], complete: false };
      }
    }
    included.push(...found);
    frontier = found;
    if (!specs.some((spec) => spec.iterate)) {
      break;
    }
  }
  return { rows: included, complete: true };
}
