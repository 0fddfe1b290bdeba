// read: https://hl7.org/fhir/R4/http.html#read (with conditional read, #cread)
import { etagOf, versionFromEtag } from '../fhir/ids.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { StoredVersion } from '../repository/types.js';
import type { FhirContext } from './context.js';
import { versionResponse } from './respond.js';

/** 304 when the client's copy is current (If-None-Match / If-Modified-Since). */
export function notModified(request: FhirRequest, version: StoredVersion): FhirResponse | undefined {
  if (request.ifNoneMatch !== undefined) {
    const tags = request.ifNoneMatch.split(',').map((t) => t.trim());
    if (tags.includes('*') || tags.some((t) => versionFromEtag(t) === version.versionId)) {
      return { status: 304, etag: etagOf(version.versionId) };
    }
    return undefined;
  }
  if (request.ifModifiedSince !== undefined) {
    const since = Date.parse(request.ifModifiedSince);
    // HTTP dates have whole seconds; compare at that precision.
    if (!Number.isNaN(since) && Math.floor(Date.parse(version.lastUpdated) / 1000) * 1000 <= since) {
      return { status: 304, etag: etagOf(version.versionId) };
    }
  }
  return undefined;
}

export async function read(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const version = await ctx.repo.read(request.resourceType as string, request.id as string);
  return notModified(request, version) ?? versionResponse(200, version, { native: request.nativeContent === true });
}
