/**
 * Paging (https://hl7.org/fhir/R4/http.html#paging, search.html#count) by keyset, not OFFSET: the
 * `_cursor` of a next or previous link holds the sort values of the last (or first) entry of the
 * page it came from plus the largest sid that existed when the first page was read. Later pages
 * continue strictly after that entry and leave out resources created since, so paging to the end
 * never repeats or skips an entry while others write.
 */
import { badRequest } from '../fhir/outcomes.js';
import type { OrderTerm } from './sort.js';
import type { SqlContext } from './sql/context.js';

export interface Cursor {
  readonly direction: 'next' | 'prev';
  /** One value per order term, as text (null for a missing sort value). */
  readonly values: ReadonlyArray<string | null>;
  /** Largest sid visible to the first page. */
  readonly snapshot: string;
}

export function encodeCursor(cursor: Cursor): string {
  const payload = [cursor.direction === 'next' ? 'n' : 'p', cursor.snapshot, ...cursor.values];
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

function invalidCursor(): never {
  throw badRequest('_cursor is not a cursor this server handed out for this search', '_cursor');
}

export function decodeCursor(raw: string, termCount: number): Cursor {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    invalidCursor();
  }
  if (!Array.isArray(payload) || payload.length !== termCount + 2) {
    invalidCursor();
  }
  const [direction, snapshot, ...values] = payload as unknown[];
  if ((direction !== 'n' && direction !== 'p') || typeof snapshot !== 'string' || !/^\d+$/.test(snapshot)) {
    invalidCursor();
  }
  if (values.some((v) => v !== null && typeof v !== 'string') || typeof values[values.length - 1] !== 'string') {
    invalidCursor();
  }
  return { direction: direction === 'n' ? 'next' : 'prev', snapshot, values: values as Array<string | null> };
}

/** A row value of a sort term as cursor text. */
export function cursorValue(value: unknown): string | null {
  if (value === null || value === undefined) {
    return null;
  }
  if (value instanceof Date) {
    return value.toISOString();
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
    return String(value);
  }
  return JSON.stringify(value);
}

interface Item {
  readonly expr: string;
  readonly descending: boolean;
  readonly value: string;
  readonly notNull: boolean;
}

/** Strictly after the cursor position in the (possibly reversed) order, as one parenthesised condition. */
function keyset(ctx: SqlContext, terms: readonly OrderTerm[], columns: readonly string[], cursor: Cursor, flip: boolean): string {
  const items: Item[] = [];
  terms.forEach((term, i) => {
    const raw = cursor.values[i] ?? null;
    const column = columns[i] as string;
    if (!term.notNull) {
      // Missing values sort last: compare the null flag first.
      items.push({ expr: `(${column} IS NULL)`, descending: false, value: raw === null ? 'true' : 'false', notNull: true });
    }
    const value = raw === null ? 'NULL' : `${ctx.params.bind(raw)}::${term.cast}`;
    items.push({ expr: column, descending: term.descending, value, notNull: term.notNull });
  });
  const sameDirection = items.every((item) => item.descending === items[0]?.descending && item.notNull);
  if (sameDirection) {
    const op = (items[0]?.descending ?? false) !== flip ? '<' : '>';
    return `(${items.map((i) => i.expr).join(', ')}) ${op} (${items.map((i) => i.value).join(', ')})`;
  }
  const alternatives = items.map((item, i) => {
    const op = item.descending !== flip ? '<' : '>';
    const equal = items.slice(0, i).map((prev) => `${prev.expr} IS NOT DISTINCT FROM ${prev.value}`);
    return [...equal, `${item.expr} ${op} ${item.value}`].join(' AND ');
  });
  // Parenthesised as a whole: the caller ANDs it with the search's filter.
  return `(${alternatives.map((a) => `(${a})`).join(' OR ')})`;
}

export interface PageStatement {
  readonly sql: string;
  /** Whether rows come back in reverse order (a previous page) and must be flipped. */
  readonly reversed: boolean;
}

/**
 * The statement for one page: sids and sort values (k0..kn) of at most limit + 1 matches, plus the
 * current largest sid (snap) for the first page's cursor. `filter` is a condition on alias `r`.
 */
export function pageStatement(ctx: SqlContext, terms: readonly OrderTerm[], filter: string, cursor: Cursor | undefined, limit: number): PageStatement {
  const flip = cursor?.direction === 'prev';
  const keys = terms.map((term, i) => `${term.expr} AS k${i}`).join(', ');
  // Sort values from subqueries are computed once per match behind an OFFSET 0 fence; plain
  // columns stay in the outer query so an index can deliver the order.
  const fenced = terms.some((term) => !term.notNull);
  const columns = terms.map((term, i) => (fenced ? `p.k${i}` : term.expr));
  const order = terms
    .flatMap((term, i) => {
      const column = columns[i] as string;
      const dir = term.descending !== flip ? 'DESC' : 'ASC';
      return term.notNull ? [`${column} ${dir}`] : [`(${column} IS NULL) ${flip ? 'DESC' : 'ASC'}`, `${column} ${dir}`];
    })
    .join(', ');
  const after = cursor ? keyset(ctx, terms, columns, cursor, flip) : 'true';
  const snap = cursor ? '' : ', (SELECT max(sid) FROM resource) AS snap';
  const limitSql = ctx.params.bind(limit + 1);
  // The page's content comes in the same statement (one round trip less per search); behind the
  // fence it is fetched for the page's rows only, not carried through the sort of every match.
  const sql = fenced
    ? `SELECT p.*, c.resource_type, c.id, c.content FROM (
         SELECT p.*${snap} FROM (SELECT r.sid, ${keys} FROM resource r WHERE ${filter} OFFSET 0) p
          WHERE ${after} ORDER BY ${order} LIMIT ${limitSql}) p
        CROSS JOIN LATERAL (SELECT resource_type, id, content FROM resource WHERE sid = p.sid) c
        ORDER BY ${order}`
    : `SELECT r.sid, ${keys}${snap}, r.resource_type, r.id, r.content FROM resource r WHERE ${filter} AND ${after} ORDER BY ${order} LIMIT ${limitSql}`;
  return { sql, reversed: flip };
}
