/**
 * Number and quantity search (https://hl7.org/fhir/R4/search.html#number, #quantity). Indexed
 * values are [low, high] (equal for a single value, the bounds of a Range). The search value's
 * precision is implied by how it is written, so `eq100` matches [99.5, 100.5). The bounds are
 * computed in numeric from the text as written: in doubles 0.2 - 0.05 is 0.15000000000000002,
 * and `eq0.2` would miss a stored 0.15.
 * Quantities take `[prefix]number|system|code`; without a system the code is compared with
 * Quantity.code or Quantity.unit. Units are compared as given: no UCUM conversion.
 */
import { badRequest } from '../../fhir/outcomes.js';
import { splitEscaped, unescapeValue } from '../text.js';
import { and, or, type SqlContext } from './context.js';
import { parseNumber, splitPrefix } from './prefix.js';

export interface NumberColumns {
  readonly low: string;
  readonly high: string;
}

export function numberMatch(ctx: SqlContext, columns: NumberColumns, value: string, name: string): string {
  const { prefix, rest } = splitPrefix(value);
  const n = parseNumber(rest, name);
  const num = (x: number | string): string => `${ctx.params.bind(String(x))}::numeric`;
  const { low, high } = columns;
  // Functions, not values: a parameter bound but left out of the SQL has no type (42P18).
  const lower = (): string => `(${num(n.text)} - ${num(n.halfUnitText)})`;
  const upper = (): string => `(${num(n.text)} + ${num(n.halfUnitText)})`;
  switch (prefix) {
    case 'eq':
      return `${low} >= ${lower()} AND ${high} < ${upper()}`;
    case 'ne':
      return or([`${low} < ${lower()}`, `${high} >= ${upper()}`]);
    case 'gt':
      return `${high} > ${num(n.text)}`;
    case 'lt':
      return `${low} < ${num(n.text)}`;
    case 'ge':
      return `${high} >= ${num(n.text)}`;
    case 'le':
      return `${low} <= ${num(n.text)}`;
    case 'sa':
      return `${low} > ${num(n.text)}`;
    case 'eb':
      return `${high} < ${num(n.text)}`;
    case 'ap': {
      // "Approximately": within 10% of the value (search.html#prefix).
      const margin = Math.abs(n.value) * 0.1;
      return `${low} <= ${num(n.value + margin)} AND ${high} >= ${num(n.value - margin)}`;
    }
  }
}

export interface QuantityColumns extends NumberColumns {
  readonly system: string;
  readonly code: string;
  readonly unit: string;
}

export function quantityMatch(ctx: SqlContext, columns: QuantityColumns, value: string, name: string): string {
  const parts = splitEscaped(value, '|');
  if (parts.length !== 1 && parts.length !== 3) {
    throw badRequest(`${name}: "${value}" is not [prefix]number or [prefix]number|system|code`, name);
  }
  const [number, system, code] = parts.map(unescapeValue) as [string, string | undefined, string | undefined];
  const conditions = [numberMatch(ctx, columns, number, name)];
  if (system) {
    conditions.push(`${columns.system} = ${ctx.params.bind(system)}`);
  }
  if (code) {
    const bound = ctx.params.bind(code);
    conditions.push(system ? `${columns.code} = ${bound}` : `(${columns.code} = ${bound} OR ${columns.unit} = ${bound})`);
  }
  return and(conditions);
}
