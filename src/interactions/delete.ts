// delete: https://hl7.org/fhir/R4/http.html#delete (conditional delete: #cdelete)
import { etagOf } from '../fhir/ids.js';
import { informational, notFound } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { assertNotMany, criteriaOnly, lockAndMatch } from './conditional.js';
import type { FhirContext } from './context.js';
import type { Repository } from '../repository/repository.js';

async function deleteOne(repo: Repository, resourceType: string, id: string): Promise<FhirResponse> {
  const result = await repo.delete(resourceType, id);
  if (!result) {
    throw notFound(`${resourceType}/${id} is not known`);
  }
  const confirmation = informational(
    result.changed ? `Deleted ${resourceType}/${id}` : `${resourceType}/${id} was already deleted; nothing changed`
  );
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
 * which the server never does; more than one match answers 412.
 */
export async function conditionalDelete(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const resourceType = request.resourceType as string;
  return ctx.repo.transaction(async (repo) => {
    const matches = await lockAndMatch(repo, resourceType, criteriaOnly(request.query));
    assertNotMany(matches, resourceType, 'conditional delete');
    const id = matches[0];
    if (id === undefined) {
      throw notFound(`No ${resourceType} matches the criteria`);
    }
    return deleteOne(repo, resourceType, id);
  });
}
