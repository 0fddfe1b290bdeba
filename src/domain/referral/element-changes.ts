/**
 * Which top-level elements a write changes, for the referral ownership rules (referral-ownership.ts,
 * referral-task-fields.ts). Elements compare by deep equality of their JSON; `meta` and `text` are
 * left out: the server stamps meta on every write (https://hl7.org/fhir/R4/resource.html#Meta) and
 * the narrative is generated from the data it summarises
 * (https://hl7.org/fhir/R4/narrative.html#Narrative), so neither is content a party owns.
 */
import type { Resource } from '@medplum/fhirtypes';
import { issue, OperationOutcomeError, outcome } from '../../fhir/outcomes.js';

const NOT_CONTENT: ReadonlySet<string> = new Set(['resourceType', 'id', 'meta', 'text']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep equality of JSON values; a key holding undefined counts as absent. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) {
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((value, i) => sameJson(value, b[i]));
  }
  if (!isObject(a) || !isObject(b)) {
    return false;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => sameJson(a[key], b[key]));
}

/** The names of the top-level elements that differ between two versions, sorted. */
export function changedElements(before: Resource, after: Resource): string[] {
  const left = before as unknown as Record<string, unknown>;
  const right = after as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  return [...keys].filter((key) => !NOT_CONTENT.has(key) && !sameJson(left[key], right[key])).sort();
}

/** 403 with one issue per element the caller may not change, each naming it (`Task.owner`). */
export function refuseElements(resourceType: string, elements: readonly string[], why: string): OperationOutcomeError {
  return new OperationOutcomeError(
    outcome(
      'forbidden',
      elements.map((element) => issue({ code: 'forbidden', text: `${why}: ${resourceType}.${element}`, expression: `${resourceType}.${element}` }))
    )
  );
}
