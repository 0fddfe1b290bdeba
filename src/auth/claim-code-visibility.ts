/**
 * Who sees a referral's claim code (domain/referral/claim-code.ts): the requester side only, that
 * is a user acting as the Task's requester (the referrer, its practice's roles) and integration
 * engines (system clients, the referrer's EHR among them). Everyone else who may read the Task, its
 * new owner and the rest of the care team included, gets it without that identifier: the code is
 * a bearer secret of the patient's until it is spent. Applied to every answer dispatch returns
 * (reads, searches with their includes, history, operations, Bundle entries).
 */
import type { Resource, Task } from '@medplum/fhirtypes';
import { CLAIM_CODE_SYSTEM, isClaimCode } from '../domain/referral/claim-code.js';
import { parseLocalReference } from '../fhir/references.js';
import type { FhirResponse } from '../fhir/request.js';
import type { AccessScope } from './access-scope.js';
import { parseStoredJson } from '../fhir/json-parse.js';

function seesCode(scope: AccessScope, task: Task): boolean {
  if (scope.principal.kind !== 'user') {
    return true;
  }
  const requester = task.requester?.reference === undefined ? undefined : parseLocalReference(task.requester.reference, undefined);
  return requester !== undefined && scope.actors.includes(`${requester.resourceType}/${requester.id}`);
}

function hide(scope: AccessScope, resource: Resource): boolean {
  if (resource.resourceType !== 'Task' || !(resource.identifier ?? []).some(isClaimCode) || seesCode(scope, resource)) {
    return false;
  }
  const rest = (resource.identifier ?? []).filter((i) => !isClaimCode(i));
  if (rest.length > 0) {
    resource.identifier = rest;
  } else {
    delete resource.identifier;
  }
  return true;
}

/**
 * The response without the claim codes this caller may not see. `resources` are the response's
 * own objects (audit/audit-capture.ts `returned`); a response that carries stored JSON is re-serialised
 * only when it holds a code.
 */
export function withoutForeignClaimCodes(scope: AccessScope, response: FhirResponse, resources: readonly Resource[]): FhirResponse {
  if (response.json !== undefined) {
    if (!response.json.includes(CLAIM_CODE_SYSTEM)) {
      return response;
    }
    const resource = parseStoredJson<Resource>(response.json);
    if (!hide(scope, resource)) {
      return response;
    }
    const { json: _json, ...rest } = response;
    return { ...rest, resource };
  }
  for (const resource of resources) {
    hide(scope, resource);
  }
  return response;
}
