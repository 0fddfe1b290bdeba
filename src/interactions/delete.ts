// delete: https://hl7.org/fhir/R4/http.html#delete (conditional delete: #cdelete)
import { etagOf } from '../fhir/ids.js';
import { informational } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { assertNotMany, criteriaOnly, lockAndMatch } from './conditional.js';
import type { FhirContext } from './context.js';
import type { Repository } from '../repository/repository.js';

/**
 * "Upon successful deletion, or if the resource does not exist at all, the server should return
 * either a 200 OK if the response contains a payload, or a 204 No Content with no response
 * payload" (http.html#delete): a delete that finds nothing to delete (never there, already
 * deleted, or hidden from the caller) answers 204 and writes no version.
 */
const NOTHING_TO_DELETE: FhirResponse = { status: 204 };

async function deleteOne(repo: Repository, resourceType: string, id: string): Promise<FhirResponse> {
  // A resource the caller may not see answers as a missing one, as read does (404 there, 204 here),
  // so a delete cannot probe for the existence of another patient's records. The narrowed read
  // (auth/access-scope.ts `filter`) decides; the write guard still refuses what is readable through
  // a read grant only.
  const seen = await repo.readCurrent(resourceType, id);
  if (!seen || seen.deleted) {
    return NOTHING_TO_DELETE;
  }
  const result = await repo.delete(resourceType, id);
  if (!result?.changed) {
    return NOTHING_TO_DELETE;
  }
  const confirmation = informational(`Deleted ${resourceType}/${id}`);
  return {
    status: 200,
    etag: etagOf(result.version.versionId),
    resource: result.warnings.length > 0 ? { ...confirmation, issue: [...(confirmation.issue ?? []), ...result.warnings] } : confirmation,
  };
}

export async function deleteInteraction(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  return deleteOne(ctx.repo, request.resourceType as string, request.id as string);
}

/**
 * DELETE /Type?criteria deletes the single match. Without criteria it would be a mass delete,
 * which the server never does; more than one match answers 412. No match is an ordinary delete of
 * nothing (http.html#cdelete: "No matches or One Match: ... an ordinary delete"): 204.
 */
export async function conditionalDelete(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const resourceType = request.resourceType as string;
  return ctx.repo.transaction(async (repo) => {
    const matches = await lockAndMatch(repo, resourceType, criteriaOnly(request.query));
    assertNotMany(matches, resourceType, 'conditional delete');
    const id = matches[0];
    if (id === undefined) {
      return NOTHING_TO_DELETE;
    }
    return deleteOne(repo, resourceType, id);
  });
}
