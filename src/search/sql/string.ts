/**
 * String search (https://hl7.org/fhir/R4/search.html#string): by default the value matches the
 * start of the indexed string, ignoring case and accents; `:exact` matches the whole string as
 * written; `:contains` matches anywhere. Starts-with is a range scan on the normalised column;
 * :contains uses the pg_trgm GIN index on the same column. The column holds a bounded prefix of
 * each value (text.ts, indexedText): an exact match compares the whole value besides, while a
 * starts-with longer than the prefix and :contains look at the prefix only.
 */
import { escapeLike, indexedText, normalizeText, prefixSuccessor, unescapeValue } from '../text.js';
import type { SqlContext } from './context.js';

export interface StringColumns {
  readonly norm: string;
  readonly exact: string;
}

export function stringMatch(ctx: SqlContext, columns: StringColumns, raw: string, modifier: 'exact' | 'contains' | undefined): string {
  const value = unescapeValue(raw);
  const norm = normalizeText(value);
  const indexed = indexedText(value);
  switch (modifier) {
    case 'exact':
      // The normalised equality lets the index find the rows; the exact one decides.
      return `${columns.norm} = ${ctx.params.bind(indexed)} AND ${columns.exact} = ${ctx.params.bind(value)}`;
    case 'contains':
      return `${columns.norm} LIKE ${ctx.params.bind(`%${escapeLike(norm)}%`)}`;
    case undefined:
      if (norm === '') {
        return `${columns.norm} IS NOT NULL`;
      }
      if (indexed !== norm) {
        return `${columns.norm} = ${ctx.params.bind(indexed)}`;
      }
      return `${columns.norm} >= ${ctx.params.bind(norm)} AND ${columns.norm} < ${ctx.params.bind(prefixSuccessor(norm))}`;
  }
}
