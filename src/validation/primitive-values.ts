/**
 * The rules of https://hl7.org/fhir/R4/datatypes.html#primitive that a regular expression cannot
 * say: "Dates SHALL be valid dates" (no 2023-02-30, no 29 February outside leap years) and the
 * 32-bit range of integer, positiveInt and unsignedInt (integer is "a signed integer in the range
 * -2,147,483,648..2,147,483,647"). The R4 JSON schema's patterns apply only to strings, so for
 * numbers this is also where "whole number" is checked. The formats themselves stay with the
 * schema's patterns (schema.ts); these checks run on values of the right JSON type only.
 */

/** The FHIR primitive types checked here. */
export type CheckedPrimitive = 'date' | 'dateTime' | 'instant' | 'integer' | 'positiveInt' | 'unsignedInt' | 'decimal';

export const CHECKED_PRIMITIVES: readonly CheckedPrimitive[] = ['date', 'dateTime', 'instant', 'integer', 'positiveInt', 'unsignedInt', 'decimal'];

import { isCalendarDate } from '../fhir/dates.js';

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

function inRange(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= INT32_MAX;
}

/** Whether a value of the right JSON type is a value its primitive type has. */
export function isPrimitiveValue(type: CheckedPrimitive, value: unknown): boolean {
  switch (type) {
    case 'date':
    case 'dateTime':
    case 'instant':
      return typeof value !== 'string' || isCalendarDate(value);
    case 'integer':
      return typeof value !== 'number' || inRange(value, INT32_MIN);
    case 'positiveInt':
      return typeof value !== 'number' || inRange(value, 1);
    case 'unsignedInt':
      return typeof value !== 'number' || inRange(value, 0);
    case 'decimal':
      return typeof value !== 'number' || Number.isFinite(value);
  }
}
