/** Response shapes shared by the interactions that return one resource version. */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { httpDate } from '../fhir/dates.js';
import { etagOf } from '../fhir/ids.js';
import type { FhirResponse, Prefer } from '../fhir/request.js';
import { fullJson } from '../repository/binary-content.js';
import type { StoredVersion } from '../repository/types.js';

export function versionUrl(baseUrl: string, version: StoredVersion): string {
  return `${baseUrl}/${version.resourceType}/${version.id}/_history/${version.versionId}`;
}

/** The bytes of a Binary version and its content type, to serve the Binary as itself. */
function nativeContent(version: StoredVersion): FhirResponse['binary'] {
  if (version.resourceType !== 'Binary' || version.json === undefined) {
    return undefined;
  }
  const { contentType } = JSON.parse(version.json) as { contentType?: unknown };
  return { contentType: typeof contentType === 'string' ? contentType : 'application/octet-stream', content: version.content ?? new Uint8Array() };
}

/**
 * A stored version as a response: body, ETag and Last-Modified; Location when asked for. With
 * `native`, a Binary answers with its own content (binary.html#rest).
 */
export function versionResponse(
  status: number,
  version: StoredVersion,
  options: { baseUrl?: string; resource?: Resource; outcome?: OperationOutcome; native?: boolean } = {}
): FhirResponse {
  const binary = options.native === true ? nativeContent(version) : undefined;
  return {
    status,
    ...(options.resource ? { resource: options.resource } : binary ? { json: version.json, binary } : { json: fullJson(version) }),
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
