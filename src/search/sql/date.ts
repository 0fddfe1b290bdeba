/**
 * Date search (https://hl7.org/fhir/R4/search.html#date). Both the search value and the indexed
 * value are ranges: `2024-03` is the whole month, a Period its start to end, a dateTime the unit of
 * its precision. Indexed values are [start_at, end_at); the prefix decides how the ranges compare:
 *   eq  the value range contains the target     ne  it does not
 *   gt  the target extends above the value      lt  the target extends below it
 *   ge  gt or eq                                le  lt or eq
 *   sa  the target starts after the value ends  eb  the target ends before the value starts
 *   ap  the target overlaps the value widened by 10% of its distance from now (at least a day)
 */
import { clampRange, parseDateRange, type TimeRange } from '../../fhir/dates.js';
import { badRequest } from '../../fhir/outcomes.js';
import { or, type SqlContext } from './context.js';
import { splitPrefix } from './prefix.js';

export interface DateColumns {
  readonly start: string;
  readonly end: string;
  /**
   * A point in time with millisecond precision (meta.lastUpdated), stored in `start` only:
   * end > x becomes start >= x and end <= x becomes start < x, so both use the same index.
   */
  readonly point?: boolean;
}

const DAY_MS = 86_400_000;

function approximate(range: TimeRange): TimeRange {
  const now = Date.now();
  const distance = Math.max(Math.abs(now - range.start.getTime()), Math.abs(now - range.end.getTime()));
  const margin = Math.max(distance * 0.1, DAY_MS);
  // Widened ranges near year 1 or 9999 stay within what PostgreSQL's timestamptz holds.
  return clampRange({ start: new Date(range.start.getTime() - margin), end: new Date(range.end.getTime() + margin) });
}

export function parseDateValue(value: string, name: string): { prefix: ReturnType<typeof splitPrefix>['prefix']; range: TimeRange } {
  const { prefix, rest } = splitPrefix(value);
  const range = parseDateRange(rest);
  if (!range) {
    throw badRequest(`${name}: "${value}" is not a date, dateTime or instant`, name);
  }
  return { prefix, range };
}

/** The condition for one date search value over the given start and end columns. */
export function dateMatch(ctx: SqlContext, columns: DateColumns, value: string, name: string): string {
  const { prefix, range } = parseDateValue(value, name);
  const bind = (date: Date): string => `${ctx.params.bind(date.toISOString())}::timestamptz`;
  const startGe = (d: Date): string => `${columns.start} >= ${bind(d)}`;
  const startLt = (d: Date): string => `${columns.start} < ${bind(d)}`;
  const endGt = (d: Date): string => (columns.point ? `${columns.start} >= ${bind(d)}` : `${columns.end} > ${bind(d)}`);
  const endLe = (d: Date): string => (columns.point ? `${columns.start} < ${bind(d)}` : `${columns.end} <= ${bind(d)}`);
  const eq = (): string => `${startGe(range.start)} AND ${endLe(range.end)}`;
  switch (prefix) {
    case 'eq':
      return eq();
    case 'ne':
      return or([startLt(range.start), endGt(range.end)]);
    case 'gt':
      return endGt(range.end);
    case 'lt':
      return startLt(range.start);
    case 'ge':
      return or([endGt(range.end), eq()]);
    case 'le':
      return or([startLt(range.start), eq()]);
    case 'sa':
      return startGe(range.end);
    case 'eb':
      return endLe(range.start);
    case 'ap': {
      const wide = approximate(range);
      return `${startLt(wide.end)} AND ${endGt(wide.start)}`;
    }
  }
}
