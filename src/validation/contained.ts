/**
 * dom-3 (https://hl7.org/fhir/R4/domainresource.html#invs): a contained resource SHALL be
 * referred to from elsewhere in its container (a `#id` reference, canonical or uri), or refer to
 * the container itself (`#`). Its FHIRPath needs descendants(), which @medplum/core does not
 * implement and therefore skips; a contained resource nobody points at is content that no query
 * or reader can reach (references.html#contained).
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../fhir/outcomes.js';

/** Every string in a value, collected into `out`. */
function strings(value: unknown, out: Set<string>): Set<string> {
  if (typeof value === 'string') {
    out.add(value);
  } else if (Array.isArray(value)) {
    value.forEach((v) => strings(v, out));
  } else if (value !== null && typeof value === 'object') {
    Object.values(value).forEach((v) => strings(v, out));
  }
  return out;
}

/** Issues of the contained resources of `resource` (at `path`) that nothing refers to. */
export function containedIssues(resource: Resource, path: string): OperationOutcomeIssue[] {
  const contained = (resource as { contained?: Resource[] }).contained;
  if (!contained?.length) {
    return [];
  }
  const { contained: _own, ...rest } = resource as Resource & { contained?: Resource[] };
  const fromContainer = strings(rest, new Set());
  const issues: OperationOutcomeIssue[] = [];
  contained.forEach((child, i) => {
    if (child.id === undefined) {
      return;
    }
    const fromSiblings = contained.some((other, j) => j !== i && strings(other, new Set()).has(`#${child.id}`));
    const toContainer = strings(child, new Set()).has('#');
    if (!fromContainer.has(`#${child.id}`) && !fromSiblings && !toContainer) {
      issues.push(
        issue({ code: 'invariant', text: `Contained resource #${child.id} is not referenced from its container (dom-3)`, expression: `${path}.contained[${i}]` })
      );
    }
  });
  return issues;
}
