/**
 * _sort (https://hl7.org/fhir/R4/search.html#sort): several keys, `-` for descending. A resource
 * with several values sorts by its lowest value ascending and its highest descending; resources
 * without a value come last. Every order ends with sid, so it is total and pages are stable.
 */
import { badRequest } from '../fhir/outcomes.js';
import { paramForTypes, type SearchParam } from './parameters.js';
import type { SqlContext } from './sql/context.js';

export interface SortKey {
  readonly param: SearchParam;
  readonly descending: boolean;
}

/** One term of the total order: an SQL expression over the resource alias `r`. */
export interface OrderTerm {
  readonly expr: string;
  readonly descending: boolean;
  /** SQL type for binding a cursor value back. */
  readonly cast: 'text' | 'timestamptz' | 'numeric' | 'bigint';
  readonly notNull: boolean;
}

export function parseSort(types: readonly string[] | undefined, value: string): SortKey[] {
  return value
    .split(',')
    .filter((part) => part !== '')
    .map((part) => {
      const descending = part.startsWith('-');
      const code = descending ? part.slice(1) : part;
      const param = paramForTypes(types, code);
      if (!param || param.type === 'composite' || param.type === 'special') {
        throw badRequest(`Cannot sort by "${code}"`, '_sort');
      }
      return { param, descending };
    });
}

const AGGREGATE: Record<string, { table: string; asc: string; desc: string; cast: OrderTerm['cast'] }> = {
  token: { table: 'search_token', asc: 'min(x.code)', desc: 'max(x.code)', cast: 'text' },
  string: { table: 'search_string', asc: 'min(x.norm)', desc: 'max(x.norm)', cast: 'text' },
  date: { table: 'search_date', asc: 'min(x.start_at)', desc: 'max(x.end_at)', cast: 'timestamptz' },
  number: { table: 'search_number', asc: 'min(x.low)', desc: 'max(x.high)', cast: 'numeric' },
  quantity: { table: 'search_quantity', asc: 'min(x.low)', desc: 'max(x.high)', cast: 'numeric' },
  reference: {
    table: 'search_reference',
    asc: "min(coalesce(x.target_type || '/' || x.target_id, x.url))",
    desc: "max(coalesce(x.target_type || '/' || x.target_id, x.url))",
    cast: 'text',
  },
  uri: { table: 'search_uri', asc: 'min(x.uri)', desc: 'max(x.uri)', cast: 'text' },
};

/** The order terms of a search: each key, then sid. */
export function orderTerms(ctx: SqlContext, keys: readonly SortKey[]): OrderTerm[] {
  const terms: OrderTerm[] = [];
  for (const { param, descending } of keys) {
    if (param.column === 'id') {
      terms.push({ expr: 'r.id', descending, cast: 'text', notNull: true });
      continue;
    }
    if (param.column === 'lastUpdated') {
      terms.push({ expr: 'r.last_updated', descending, cast: 'timestamptz', notNull: true });
      continue;
    }
    const aggregate = AGGREGATE[param.type];
    if (!aggregate) {
      throw badRequest(`Cannot sort by "${param.code}"`, '_sort');
    }
    const expr = `(SELECT ${descending ? aggregate.desc : aggregate.asc} FROM ${aggregate.table} x WHERE x.sid = r.sid AND x.param = ${ctx.params.bind(param.code)})`;
    terms.push({ expr, descending, cast: aggregate.cast, notNull: false });
  }
  terms.push({ expr: 'r.sid', descending: false, cast: 'bigint', notNull: true });
  return terms;
}
