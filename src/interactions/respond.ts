/** Response shapes shared by the interactions that return one resource version. */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { httpDate } from '../fhir/dates.js';
import { etagOf } from '../fhir/ids.js';
import type { FhirResponse, Prefer } from '../fhir/request.js';
import type { StoredVersion } from '../repository/types.js';

export function versionUrl(baseUrl: string, version: StoredVersion): string {
  return `${baseUrl}/${version.resourceType}/${version.id}/_history/${version.versionId}`;
}

/** A stored version as a response: body, ETag and Last-Modified; Location when asked for. */
export function versionResponse(
  status: number,
  version: StoredVersion,
  options: { baseUrl?: string; resource?: Resource; outcome?: OperationOutcome } = {}
): FhirResponse {
  return {
    status,
    ...(options.resource ? { resource: options.resource } : { json: version.json }),
    etag: etagOf(version.versionId),
    lastModified: httpDate(version.lastUpdated),
    lastUpdated: version.lastUpdated,
    ...(options.baseUrl ? { location: versionUrl(options.baseUrl, version) } : {}),
    ...(options.outcome ? { outcome: options.outcome } : {}),
  };
}

/**
 * Prefer: return=… on create, update and patch (https://hl7.org/fhir/R4/http.html#ops).
 * Without the header the full resource is returned.
 */
export function applyPrefer(response: FhirResponse, prefer: Prefer, successText: string): FhirResponse {
  const { resource: _resource, json: _json, ...headersOnly } = response;
  switch (prefer.return) {
    case 'minimal':
      return headersOnly;
    case 'OperationOutcome': {
      const outcome: OperationOutcome = response.outcome ?? {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'information', code: 'informational', details: { text: successText } }],
      };
      return { ...headersOnly, resource: outcome };
    }
    default:
      return response;
  }
}
