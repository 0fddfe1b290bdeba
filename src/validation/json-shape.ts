/**
 * The FHIR JSON rules (https://hl7.org/fhir/R4/json.html) for resources that did not come through
 * the strict body parser: the result of a JSON Patch, transaction entries, start-up loaders.
 * No empty strings, arrays or objects, and no null except as padding in an array of primitives
 * whose `_name` partner has an entry at that position. The parser refuses the same with 400;
 * here the resource is content the server was asked to store, so it is 422.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue } from '../fhir/outcomes.js';

function partnerHas(parent: Record<string, unknown>, key: string, index: number): boolean {
  const partner = parent[key.startsWith('_') ? key.slice(1) : `_${key}`];
  return Array.isArray(partner) && partner[index] !== null && partner[index] !== undefined;
}

function walk(value: unknown, path: string, issues: OperationOutcomeIssue[]): void {
  if (typeof value === 'string') {
    if (value === '') {
      issues.push(issue({ code: 'structure', text: 'Empty strings are not allowed in FHIR JSON', expression: path }));
    }
    return;
  }
  if (value === null || typeof value !== 'object') {
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      issues.push(issue({ code: 'structure', text: 'Empty arrays are not allowed in FHIR JSON', expression: path }));
    }
    value.forEach((item, i) => walk(item, `${path}[${i}]`, issues));
    return;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) {
    issues.push(issue({ code: 'structure', text: 'Empty objects are not allowed in FHIR JSON', expression: path }));
  }
  for (const [key, child] of entries) {
    const childPath = `${path}.${key}`;
    if (child === null) {
      issues.push(issue({ code: 'structure', text: 'null is not allowed as a property value in FHIR JSON', expression: childPath }));
    } else if (Array.isArray(child)) {
      child.forEach((item, i) => {
        if (item === null && !partnerHas(value as Record<string, unknown>, key, i)) {
          issues.push(issue({ code: 'structure', text: 'null in an array only pads a primitive with extensions', expression: `${childPath}[${i}]` }));
        }
      });
      walk(child, childPath, issues);
    } else {
      walk(child, childPath, issues);
    }
  }
}

/** Breaches of the FHIR JSON rules, with the path of each. */
export function jsonShapeIssues(resource: { resourceType: string }): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  walk(resource, resource.resourceType, issues);
  return issues;
}
