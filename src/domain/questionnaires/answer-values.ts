/**
 * Answer values of QuestionnaireResponse items and Questionnaire answerOptions / enableWhen
 * answers: the one `value[x]` (or `answer[x]`) element, its type, and comparison between values.
 */
import type { Coding, Quantity, Reference } from '@medplum/fhirtypes';
import { parseDateRange } from '../../fhir/dates.js';

export interface ChoiceValue {
  /** The type suffix: `Integer`, `Coding`, `String`... */
  readonly type: string;
  readonly value: unknown;
}

/** The `{prefix}[x]` element of an object (`value` for answers, `answer` for enableWhen). */
export function choiceValue(element: object, prefix: 'value' | 'answer'): ChoiceValue | undefined {
  for (const [key, value] of Object.entries(element)) {
    if (key.startsWith(prefix) && key.length > prefix.length && /^[A-Z]/.test(key.charAt(prefix.length))) {
      return { type: key.slice(prefix.length), value };
    }
  }
  return undefined;
}

function sameCoding(a: Coding, b: Coding): boolean {
  return a.code === b.code && (a.system === undefined || b.system === undefined || a.system === b.system);
}

function sameQuantity(a: Quantity, b: Quantity): boolean {
  return a.value === b.value && (a.code ?? a.unit) === (b.code ?? b.unit);
}

/** Equality of two values of one type, as enableWhen `=` and answerOption matching need it. */
export function valuesEqual(a: ChoiceValue, b: ChoiceValue): boolean {
  if (a.type !== b.type) {
    // An integer answer may be compared with a decimal and the other way round.
    const numeric = (t: string): boolean => t === 'Integer' || t === 'Decimal';
    return numeric(a.type) && numeric(b.type) && a.value === b.value;
  }
  switch (a.type) {
    case 'Coding':
      return sameCoding(a.value as Coding, b.value as Coding);
    case 'Quantity':
      return sameQuantity(a.value as Quantity, b.value as Quantity);
    case 'Reference':
      return (a.value as Reference).reference === (b.value as Reference).reference;
    default:
      return a.value === b.value;
  }
}

/** A number to order by: numbers, quantities, and the start instant of dates and dateTimes. */
function ordinal(v: ChoiceValue): number | string | undefined {
  switch (v.type) {
    case 'Integer':
    case 'Decimal':
      return v.value as number;
    case 'Quantity':
      return (v.value as Quantity).value;
    case 'Date':
    case 'DateTime':
      return parseDateRange(v.value as string)?.start.getTime();
    case 'Time':
    case 'String':
      return v.value as string;
    default:
      return undefined;
  }
}

/** Order of two values (negative, 0, positive), or undefined when they cannot be ordered. */
export function compareValues(a: ChoiceValue, b: ChoiceValue): number | undefined {
  const x = ordinal(a);
  const y = ordinal(b);
  if (x === undefined || y === undefined || typeof x !== typeof y) {
    return undefined;
  }
  return x < y ? -1 : x > y ? 1 : 0;
}
