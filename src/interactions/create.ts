// create: https://hl7.org/fhir/R4/http.html#create (conditional create: #ccreate)
import { registerCreator, withCreatorOrganization } from '../auth/creator-relation.js';
import { informational } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { assertNotMany, lockAndMatch, parseCriteria } from './conditional.js';
import type { FhirContext } from './context.js';
import { versionResponse } from './respond.js';
import { withoutServerFields, writeOutcome } from './write-rules.js';

export async function create(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const resourceType = request.resourceType as string;
  ctx.validator.assertResource(request.body, resourceType);
  // The server assigns id, versionId and lastUpdated; whatever the client sent is ignored.
  const resource = withCreatorOrganization(withoutServerFields(request.body, { dropId: true }), ctx.access);
  const warnings = ctx.validator.validate(resource);
  return ctx.repo.transaction(async (repo) => {
    if (request.ifNoneExist !== undefined) {
      const matches = await lockAndMatch(repo, resourceType, parseCriteria(request.ifNoneExist, resourceType), resource);
      assertNotMany(matches, resourceType, 'conditional create');
      if (matches.length === 1) {
        const existing = await repo.read(resourceType, matches[0] as string);
        return versionResponse(200, existing, {
          baseUrl: request.baseUrl,
          outcome: informational('A resource matching If-None-Exist already exists; nothing was created'),
        });
      }
    }
    const result = await repo.create(resource, {
      baseUrl: request.baseUrl,
      ...(request.assignedId !== undefined ? { id: request.assignedId } : {}),
    });
    if (resourceType === 'Patient') {
      await registerCreator(repo, ctx.access, result.version.id, request.baseUrl);
    }
    return versionResponse(201, result.version, {
      baseUrl: request.baseUrl,
      resource: result.resource,
      outcome: writeOutcome([...warnings, ...result.warnings], 'Created'),
    });
  });
}
