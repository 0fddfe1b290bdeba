/**
 * The response side of batch and transaction (https://hl7.org/fhir/R4/http.html#transaction-response):
 * one entry per request entry, in the same order, with `response.status`, `location`, `etag`,
 * `lastModified`, and the resource or OperationOutcome that Prefer asked for. Also anchors the
 * issues of an entry's failure in the Bundle (`Patient.gender` -> `Bundle.entry[3].resource.gender`).
 */
import type { Bundle, BundleEntry, BundleEntryResponse, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { OUTCOME_STATUS, statusOf } from '../../fhir/outcomes.js';
import { WRITE_INTERACTIONS, type FhirRequest, type FhirResponse } from '../../fhir/request.js';
import { parseStoredJson } from '../../fhir/json-parse.js';

/** Reason phrases of RFC 9110 for the statuses interactions answer with. */
const REASON: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** `201 Created`: the status "SHALL start with a 3 digit HTTP code" (Bundle.entry.response.status). */
export function statusLine(status: number): string {
  const reason = REASON[status];
  return reason === undefined ? String(status) : `${status} ${reason}`;
}

/** Outcome ids are the server's status tags (fhir/outcomes.ts), not resource ids for clients. */
export function publicOutcome(outcome: OperationOutcome): OperationOutcome {
  if (outcome.id !== undefined && outcome.id in OUTCOME_STATUS) {
    const { id: _id, ...rest } = outcome;
    return rest;
  }
  return outcome;
}

function hasWarnings(outcome: OperationOutcome | undefined): outcome is OperationOutcome {
  return (outcome?.issue ?? []).some((i) => i.severity !== 'information');
}

/** The response entry of one successful entry. */
export function responseEntry(request: FhirRequest, response: FhirResponse): BundleEntry {
  let resource: Resource | undefined = response.resource;
  if (resource === undefined && response.json !== undefined) {
    resource = parseStoredJson<Resource>(response.json);
  }
  if (request.method === 'HEAD') {
    resource = undefined;
  }
  let outcome: OperationOutcome | undefined = hasWarnings(response.outcome) ? response.outcome : undefined;
  // A write's OperationOutcome (Prefer: return=OperationOutcome, or a delete's report) is the
  // entry's outcome, not a resource the entry produced.
  if (resource?.resourceType === 'OperationOutcome' && WRITE_INTERACTIONS.has(request.interaction)) {
    outcome = resource;
    resource = undefined;
  }
  const entryResponse: BundleEntryResponse = {
    status: statusLine(response.status),
    ...(response.location !== undefined ? { location: response.location } : {}),
    ...(response.etag !== undefined ? { etag: response.etag } : {}),
    ...(response.lastUpdated !== undefined
      ? { lastModified: response.lastUpdated }
      : response.lastModified !== undefined
        ? { lastModified: new Date(response.lastModified).toISOString() }
        : {}),
    ...(outcome !== undefined ? { outcome: publicOutcome(outcome) } : {}),
  };
  const fullUrl =
    resource?.id !== undefined && resource.resourceType !== 'OperationOutcome' && resource.resourceType !== 'Bundle'
      ? `${request.baseUrl}/${resource.resourceType}/${resource.id}`
      : undefined;
  return {
    ...(fullUrl !== undefined ? { fullUrl } : {}),
    ...(resource !== undefined ? { resource: resource.resourceType === 'OperationOutcome' ? publicOutcome(resource) : resource } : {}),
    response: entryResponse,
  };
}

/** The response entry of a failed batch entry: its status and OperationOutcome. */
export function failedEntry(outcome: OperationOutcome): BundleEntry {
  return { response: { status: statusLine(statusOf(outcome)), outcome: publicOutcome(outcome) } };
}

export function responseBundle(type: 'batch-response' | 'transaction-response', entry: BundleEntry[]): Bundle {
  // FHIR JSON has no empty arrays (json.html): an empty Bundle has no entry element.
  return { resourceType: 'Bundle', type, ...(entry.length > 0 ? { entry } : {}) };
}

/**
 * Re-roots the issue expressions of entry `index`'s failure in the Bundle: paths in the entry's
 * resource (`Patient.gender`, or `gender`) go under `Bundle.entry[i].resource`, paths already in a
 * Bundle (a nested transaction's) under that, and issues without a path point at the entry.
 * Returns a new outcome with the same id, so the status does not change.
 */
export function anchorOutcome(outcome: OperationOutcome, index: number, resourceType: string | undefined): OperationOutcome {
  const entry = `Bundle.entry[${index}]`;
  const anchor = (expression: string): string => {
    if (resourceType !== undefined) {
      if (expression === resourceType || expression.startsWith(`${resourceType}.`) || expression.startsWith(`${resourceType}[`)) {
        return `${entry}.resource${expression.slice(resourceType.length)}`;
      }
      return expression.startsWith('[') ? `${entry}.resource${expression}` : `${entry}.resource.${expression}`;
    }
    return `${entry}.request`;
  };
  return {
    ...outcome,
    issue: (outcome.issue ?? []).map((i) => ({
      ...i,
      expression: i.expression && i.expression.length > 0 ? i.expression.map(anchor) : [entry],
    })),
  };
}

/** The type expressions of an entry's failure are rooted at: its body's, or the patched resource's. */
export function entryResourceType(request: FhirRequest): string | undefined {
  const type = (request.body as { resourceType?: unknown } | undefined)?.resourceType;
  if (typeof type === 'string') {
    return type;
  }
  return request.body === undefined ? undefined : request.resourceType;
}
