/**
 * What a conditional interaction locks (https://hl7.org/fhir/R4/http.html#ccreate: a conditional
 * create must not create a second resource when one matches). The lock is keyed on what the
 * criteria can match, not on their text: `identifier=sys|v`, `identifier=v` and
 * `identifier=sys|v&gender=unknown` all lock the identifier value `v` of the type, so two
 * spellings of the same match queue behind each other and the second one searches again after
 * the first committed.
 *
 * - Criteria that name identifier values (`identifier`, `identifier:of-type`) take an exclusive
 *   lock per value (system and other parameters ignored: every resource they match carries one of
 *   those values) and a shared lock on the resource type. The identifier values of the resource
 *   being written join them, so `identifier=a` and `identifier=b` serialise when both would write
 *   a resource carrying a and b.
 * - Any other criteria (`name=...`, `identifier=sys|`, modifiers) cannot be narrowed to a value and
 *   take the type's lock exclusively: they queue behind every conditional write of the type.
 *
 * Locks are taken in one order (the type first, then values sorted) so that two writers never
 * wait for each other crosswise.
 */
import type { QueryParams } from '../fhir/request.js';
import { splitEscaped, unescapeValue } from '../search/text.js';

export interface ConditionalLocks {
  /** Taken first: shared when `exclusive` names identifier values, else exclusive. */
  readonly typeKey: string;
  readonly typeShared: boolean;
  /** Exclusive locks on identifier values, sorted. */
  readonly valueKeys: readonly string[];
}

/** The identifier value one search alternative names, or undefined when it names none. */
function identifierValue(modifier: string | undefined, alternative: string): string | undefined {
  if (modifier === 'of-type') {
    const parts = splitEscaped(alternative, '|');
    return parts.length === 3 && parts[2] !== '' ? unescapeValue(parts[2] as string) : undefined;
  }
  const parts = splitEscaped(alternative, '|', 2);
  const value = unescapeValue((parts.length === 1 ? parts[0] : parts[1]) as string);
  return value === '' ? undefined : value;
}

/**
 * Identifier values every match of the criteria must carry one of, or undefined when the criteria
 * do not pin the identifier down. Each `identifier` parameter is an AND of OR-lists; any list whose
 * alternatives all name a value narrows the match, and all such lists are locked together so that
 * the same criteria in another order lock the same values.
 */
function criteriaValues(criteria: QueryParams): string[] | undefined {
  const values: string[] = [];
  let narrowed = false;
  for (const [name, raw] of criteria) {
    const [code, modifier] = name.split(':', 2) as [string, string | undefined];
    if (code !== 'identifier' || (modifier !== undefined && modifier !== 'of-type')) {
      continue;
    }
    const alternatives = splitEscaped(raw, ',').map((a) => identifierValue(modifier, a));
    if (alternatives.length > 0 && alternatives.every((v): v is string => v !== undefined)) {
      values.push(...alternatives);
      narrowed = true;
    }
  }
  return narrowed ? values : undefined;
}

function bodyValues(resource: unknown): string[] {
  if (typeof resource !== 'object' || resource === null || !('identifier' in resource) || !Array.isArray(resource.identifier)) {
    return [];
  }
  const values: string[] = [];
  for (const identifier of resource.identifier as unknown[]) {
    if (typeof identifier === 'object' && identifier !== null && 'value' in identifier && typeof identifier.value === 'string' && identifier.value !== '') {
      values.push(identifier.value);
    }
  }
  return values;
}

/** The locks a conditional interaction on `criteria` takes; `resource` is what it may write. */
export function conditionalLocks(resourceType: string, criteria: QueryParams, resource?: unknown): ConditionalLocks {
  const typeKey = `conditional|${resourceType}`;
  const values = criteriaValues(criteria);
  if (values === undefined) {
    return { typeKey, typeShared: false, valueKeys: [] };
  }
  const unique = [...new Set([...values, ...bodyValues(resource)])].sort();
  return { typeKey, typeShared: true, valueKeys: unique.map((v) => `conditional|${resourceType}|identifier|${v}`) };
}
