/**
 * Rules of https://hl7.org/fhir/R4/bundle.html that no invariant expresses (the HL7 Java
 * validator checks them too): fullUrl is absolute and agrees with the entry's type and id, each
 * navigation link occurs once and paging links only in searchsets and histories, and the entries
 * of a searchset are what their search.mode says (matches with ids, outcomes as OperationOutcome);
 * references inside documents and messages resolve (bundle-references.ts).
 */
import type { Bundle, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { isR4ResourceType } from '../fhir/definitions.js';
import { issue } from '../fhir/outcomes.js';
import { bundleReferenceIssues } from './bundle-references.js';

const ABSOLUTE_URI = /^[A-Za-z][A-Za-z\d+.-]*:\S+$/;
const RESTFUL_URL = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;
const UNIQUE_RELATIONS = new Set(['self', 'first', 'previous', 'prev', 'next', 'last']);
const PAGING_RELATIONS = new Set(['first', 'previous', 'prev', 'next', 'last']);

function entryIssues(bundle: Bundle, path: string): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  (bundle.entry ?? []).forEach((entry, i) => {
    const at = `${path}.entry[${i}]`;
    const resource = entry.resource;
    if (entry.fullUrl !== undefined) {
      if (!ABSOLUTE_URI.test(entry.fullUrl)) {
        // "fullUrl ... is an absolute URL" (bundle.html#bundle-unique); `Patient/1` resolves nowhere.
        issues.push(issue({ code: 'invalid', text: `fullUrl must be an absolute URI, not "${entry.fullUrl}"`, expression: `${at}.fullUrl` }));
      } else {
        const restful = RESTFUL_URL.exec(entry.fullUrl);
        const [type, id] = restful ? [restful[1] as string, restful[2] as string] : [undefined, undefined];
        // "fullUrl SHALL NOT disagree with the id in the resource" (Bundle.entry.fullUrl).
        if (resource && type !== undefined && isR4ResourceType(type) && (type !== resource.resourceType || (resource.id !== undefined && resource.id !== id))) {
          issues.push(
            issue({ code: 'invalid', text: `fullUrl ${entry.fullUrl} disagrees with the entry ${resource.resourceType}/${resource.id ?? ''}`, expression: `${at}.fullUrl` })
          );
        }
      }
    }
    if (bundle.type === 'searchset' && resource && entry.search?.mode === 'match' && resource.id === undefined) {
      issues.push(issue({ code: 'invalid', text: 'A search match must have an id', expression: `${at}.resource` }));
    }
    if (bundle.type === 'searchset' && resource && entry.search?.mode === 'outcome' && resource.resourceType !== 'OperationOutcome') {
      issues.push(issue({ code: 'invalid', text: 'An entry with search.mode outcome must be an OperationOutcome', expression: `${at}.resource` }));
    }
  });
  return issues;
}

function linkIssues(bundle: Bundle, path: string): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const seen = new Set<string>();
  const pageable = bundle.type === 'searchset' || bundle.type === 'history';
  (bundle.link ?? []).forEach((link, i) => {
    const relation = link.relation;
    if (UNIQUE_RELATIONS.has(relation)) {
      if (seen.has(relation)) {
        issues.push(issue({ code: 'invalid', text: `Link relation "${relation}" may occur only once`, expression: `${path}.link[${i}].relation` }));
      }
      seen.add(relation);
    }
    if (PAGING_RELATIONS.has(relation) && !pageable) {
      issues.push(issue({ code: 'invalid', text: `Paging link "${relation}" only belongs in a searchset or history`, expression: `${path}.link[${i}].relation` }));
    }
  });
  return issues;
}

/** Issues of the Bundle-level rules; none for other resources. */
export function bundleIssues(resource: { resourceType: string }, path = resource.resourceType): OperationOutcomeIssue[] {
  if (resource.resourceType !== 'Bundle') {
    return [];
  }
  const bundle = resource as Bundle;
  return [...entryIssues(bundle, path), ...linkIssues(bundle, path), ...bundleReferenceIssues(bundle, path)];
}
