/**
 * Invariants declared on a data type or resource itself (its root element), evaluated wherever a
 * value of that type occurs. @medplum/core checks the root constraints of the validated resource
 * only and the constraints listed on each element, so it never evaluates, for example, per-1
 * (Period start <= end), ext-1 (an extension has a value or extensions, not both), qty-3 or rng-2
 * on nested values, nor the resource invariants of contained and Bundle entry resources. This
 * module evaluates those with @medplum/core's own FHIRPath engine, with the same variables.
 */
import { createConstraintIssue, evalFhirPathTyped, parseFhirPath, toTypedValue, tryGetDataType, UCUM, type FhirPathAtom, type TypedValue, type TypedValueWithPath } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../fhir/outcomes.js';

/**
 * Not evaluated here: ele-1 (empty elements are refused by the JSON rules), ref-1 (references.ts
 * checks contained targets with the container rules of references.html#contained), dom-3
 * (contained.ts checks it without descendants(), which @medplum/core lacks), and the keys
 * @medplum/core skips for its own reasons (org-1, sdf-19).
 */
const SKIPPED = new Set(['ele-1', 'ref-1', 'dom-3', 'org-1', 'sdf-19']);

interface CompiledConstraint {
  readonly key: string;
  readonly severity: 'error';
  readonly description: string;
  readonly expression: string;
  readonly atom: FhirPathAtom;
}

const byType = new Map<string, CompiledConstraint[]>();

function constraintsOf(type: string): CompiledConstraint[] {
  let list = byType.get(type);
  if (!list) {
    const schema = tryGetDataType(type);
    list = (schema?.constraints ?? [])
      .filter((c) => c.severity === 'error' && !SKIPPED.has(c.key))
      .map((c) => ({ key: c.key, severity: 'error' as const, description: c.description, expression: c.expression, atom: parseFhirPath(c.expression) }));
    byType.set(type, list);
  }
  return list;
}

/**
 * Issues of the type-level invariants of `value` (a nested data type or resource), evaluated with
 * %resource the nearest resource and %rootResource the validated one.
 */
export function typeInvariantIssues(value: TypedValueWithPath, resource: Resource | undefined, root: TypedValue): OperationOutcomeIssue[] {
  const constraints = constraintsOf(value.type);
  if (constraints.length === 0) {
    return [];
  }
  const variables: Record<string, TypedValue> = { '%context': value, '%ucum': toTypedValue(UCUM), '%rootResource': root };
  if (resource) {
    variables['%resource'] = toTypedValue(resource);
  }
  const issues: OperationOutcomeIssue[] = [];
  for (const constraint of constraints) {
    try {
      const result = evalFhirPathTyped(constraint.atom, [value], variables);
      if (!(result.length === 1 && result[0]?.value === true)) {
        issues.push(createConstraintIssue(value.path, constraint));
      }
    } catch {
      issues.push(issue({ code: 'processing', text: `Invariant ${constraint.key} could not be evaluated`, expression: value.path }));
    }
  }
  return issues;
}
