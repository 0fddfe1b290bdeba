/**
 * Comparison prefixes of ordered parameter types (https://hl7.org/fhir/R4/search.html#prefix):
 * eq ne gt lt ge le sa eb ap, eq when absent.
 */
import { badRequest } from '../../fhir/outcomes.js';

export const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
export type Prefix = (typeof PREFIXES)[number];

export function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const head = value.slice(0, 2);
  if ((PREFIXES as readonly string[]).includes(head) && value.length > 2) {
    return { prefix: head as Prefix, rest: value.slice(2) };
  }
  return { prefix: 'eq', rest: value };
}

const DECIMAL = /^[+-]?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

export interface ParsedNumber {
  /** The value as written, for binding as numeric (no float rounding). */
  readonly text: string;
  readonly value: number;
  /**
   * Half the unit of the last significant digit, as exact decimal text (`5e-3` for 1.50): `100`
   * covers [99.5, 100.5), `1e2` [50, 150) (search.html#number, "precision is implied by the value").
   */
  readonly halfUnitText: string;
}

export function parseNumber(text: string, name: string): ParsedNumber {
  const m = DECIMAL.exec(text);
  if (!m) {
    throw badRequest(`${name}: "${text}" is not a number`, name);
  }
  const decimals = m[2]?.length ?? 0;
  const exponent = m[3] === undefined ? 0 : Number(m[3]);
  const scale = exponent - decimals - 1;
  return { text, value: Number(text), halfUnitText: `5e${scale}` };
}
