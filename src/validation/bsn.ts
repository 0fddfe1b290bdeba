/**
 * The eleven-test on every BSN a write carries, wherever it sits: a Patient's identifier, a
 * reference by identifier (Task.for, Observation.subject), an extension. A mistyped BSN would
 * otherwise file data under nobody or, worse, under someone else. Searches are not checked: a
 * search for a wrong number simply finds nothing.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { bsnIdentifiers, passesElevenTest } from '../fhir/bsn.js';
import { issue } from '../fhir/outcomes.js';

export function bsnIssues(resource: Resource): OperationOutcomeIssue[] {
  return bsnIdentifiers(resource, resource.resourceType)
    .filter(({ identifier }) => typeof identifier.value !== 'string' || !passesElevenTest(identifier.value))
    .map(({ path }) =>
      issue({ code: 'value', text: 'A BSN is nine digits that pass the eleven-test', expression: `${path}.value` })
    );
}
