/**
 * Binary access (https://hl7.org/fhir/R4/binary.html, securityContext): a Binary carries no
 * patient of its own, so the resource its securityContext names stands in for it. Through the
 * ordinary rule (patients-of.ts) a Binary belongs to the Patient its securityContext names, or to
 * the patients of the resource it names (a DocumentReference, a ServiceRequest...), and is narrowed
 * like their other data (access-scope.ts). A Binary without securityContext belongs to no patient
 * and would be visible to every holder of a Binary read scope, like reference data; a professional
 * uploads patient documents, so a user (narrowed by patient) must name the securityContext (422),
 * and only a system client may store a Binary without one (a logo, a form template).
 */
import { issue, unprocessable } from '../fhir/outcomes.js';
import type { Repository } from '../repository/repository.js';
import type { ResourceChange, WriteHook } from '../repository/types.js';
import type { AccessScope } from './access-scope.js';

export function binaryGuard(): WriteHook {
  return {
    async beforeWrite(repo: Repository, change: ResourceChange): Promise<void> {
      const scope = repo.scope.actor as AccessScope | undefined;
      const resource = change.resource;
      if (scope?.byPatient !== true || resource?.resourceType !== 'Binary' || resource.securityContext?.reference !== undefined) {
        return;
      }
      throw unprocessable([
        issue({
          code: 'required',
          text: 'A Binary written by a professional needs a securityContext (the patient or the resource it belongs to), sent as X-Security-Context or in the resource',
          expression: 'Binary.securityContext',
        }),
      ]);
    },
  };
}
