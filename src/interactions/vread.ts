// vread: https://hl7.org/fhir/R4/http.html#vread
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { FhirContext } from './context.js';
import { versionResponse } from './respond.js';

export async function vread(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const version = await ctx.repo.vread(
    request.resourceType as string,
    request.id as string,
    request.versionId as string
  );
  return versionResponse(200, version, { native: request.nativeContent === true });
}
