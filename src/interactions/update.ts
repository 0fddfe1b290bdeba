// update: https://hl7.org/fhir/R4/http.html#update (conditional update: #cond-update)
import type { Resource } from '@medplum/fhirtypes';
import { registerCreator } from '../auth/creator-relation.js';
import { newId, versionFromEtag } from '../fhir/ids.js';
import { badRequest } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { assertNotMany, criteriaOnly, lockAndMatch } from './conditional.js';
import type { FhirContext } from './context.js';
import { versionResponse } from './respond.js';
import { UNCHANGED, withoutServerFields, writeOutcome } from './write-rules.js';

/** If-Match as a version number; 400 when the header is not an ETag. */
export function ifMatchVersion(request: FhirRequest): number | undefined {
  if (request.ifMatch === undefined) {
    return undefined;
  }
  const version = versionFromEtag(request.ifMatch);
  if (version === undefined) {
    throw badRequest(`If-Match must be an ETag such as W/"3", got ${request.ifMatch}`);
  }
  return version;
}

async function store(
  ctx: FhirContext,
  request: FhirRequest,
  resource: Resource & { id: string }
): Promise<FhirResponse> {
  const warnings = ctx.validator.validate(resource);
  const result = await ctx.repo.update(resource, { ifMatch: ifMatchVersion(request), baseUrl: request.baseUrl });
  if (result.created && resource.resourceType === 'Patient') {
    // Update as create (http.html#upsert): the id is the client's, the managing organisation too.
    await registerCreator(ctx.repo, ctx.access, resource.id, request.baseUrl);
  }
  return versionResponse(result.created ? 201 : 200, result.version, {
    baseUrl: request.baseUrl,
    resource: result.resource,
    outcome: writeOutcome([...warnings, ...result.warnings], result.created ? 'Created' : result.changed ? 'Updated' : UNCHANGED),
  });
}

export async function update(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const resourceType = request.resourceType as string;
  ctx.validator.assertResource(request.body, resourceType);
  const body = request.body;
  if (body.id === undefined) {
    throw badRequest('The resource in an update must carry its id', `${resourceType}.id`);
  }
  if (body.id !== request.id) {
    throw badRequest(`The resource id "${body.id}" does not match the URL id "${request.id}"`, `${resourceType}.id`);
  }
  const resource = withoutServerFields(body, { dropId: false }) as Resource & { id: string };
  return store(ctx, request, resource);
}

/** PUT /Type?criteria: update the one match, or create when there is none. */
export async function conditionalUpdate(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const resourceType = request.resourceType as string;
  ctx.validator.assertResource(request.body, resourceType);
  const body = request.body;
  const criteria = criteriaOnly(request.query);
  return ctx.repo.transaction(async (repo) => {
    const matches = await lockAndMatch(repo, resourceType, criteria, body);
    assertNotMany(matches, resourceType, 'conditional update');
    const match = matches[0];
    if (match !== undefined && body.id !== undefined && body.id !== match) {
      throw badRequest(`The resource id "${body.id}" differs from the matching resource ${resourceType}/${match}`, `${resourceType}.id`);
    }
    // No match and no id: the server assigns one; no match with an id: update as create.
    const id = match ?? body.id ?? newId();
    const resource = { ...withoutServerFields(body, { dropId: true }), id };
    return store({ ...ctx, repo }, request, resource);
  });
}
