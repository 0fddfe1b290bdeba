/**
 * Bundle.entry.request -> FhirRequest, through the same routes table as HTTP
 * (https://hl7.org/fhir/R4/bundle.html#transaction, http.html#transaction), so an entry reaches
 * exactly the handler the equivalent HTTP request would.
 */
import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { parseFhirJson } from '../../fhir/json-parse.js';
import { badRequest, isOperationOutcomeError } from '../../fhir/outcomes.js';
import { assertNoNul, type FhirRequest, type HttpMethod } from '../../fhir/request.js';
import { matchRoute, pathSegments } from '../../fhir/routes.js';
import type { FhirContext } from '../context.js';
import { JSON_PATCH } from '../patch.js';

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** Parameters about the HTTP rendering of a response; an entry's response is part of the Bundle. */
const HTTP_ONLY_PARAMETERS = new Set(['_format', '_pretty']);
const FHIR_JSON = 'application/fhir+json';

/**
 * The part of `url` below this server's base, or undefined when it is an absolute URL elsewhere.
 * An entry may only address this server (nothing is forwarded to other servers: docs/bundles.md).
 */
export function belowBase(url: string, baseUrl: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url)) {
    return url.replace(/^\/+/, '');
  }
  if (url === baseUrl) {
    return '';
  }
  if (url.startsWith(`${baseUrl}/`) || url.startsWith(`${baseUrl}?`)) {
    return url.slice(baseUrl.length).replace(/^\/+/, '');
  }
  return undefined;
}

function optionalString(value: unknown, expression: string): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== 'string') {
    throw badRequest('Expected a string', expression);
  }
  return value;
}

/**
 * PATCH in a Bundle carries its JSON Patch document as a Binary resource
 * (https://hl7.org/fhir/R4/http.html#patch): base64 data with the patch media type.
 */
function patchBody(ctx: FhirContext, resource: Resource | undefined, at: string): { body: unknown; contentType: string } {
  if (resource?.resourceType !== 'Binary') {
    return { body: resource, contentType: FHIR_JSON };
  }
  const binary = resource;
  if (binary.contentType !== JSON_PATCH || typeof binary.data !== 'string') {
    return { body: resource, contentType: binary.contentType ?? FHIR_JSON };
  }
  const bytes = Buffer.from(binary.data, 'base64');
  try {
    return { body: parseFhirJson(bytes, { maxDepth: ctx.config.maxJsonDepth, fhirRules: false }), contentType: JSON_PATCH };
  } catch {
    throw badRequest('Binary.data is not a JSON Patch document', `${at}.resource.data`);
  }
}

/**
 * The transport-free request of one entry. Throws 400 (anchored at `Bundle.entry[i].request…`) for
 * a missing or malformed request, a URL that is not on this server, or a URL the routes table
 * does not know.
 */
export function entryRequest(ctx: FhirContext, outer: FhirRequest, entry: BundleEntry, index: number): FhirRequest {
  const at = `Bundle.entry[${index}]`;
  const request = entry.request;
  if (request === undefined || request === null || typeof request !== 'object') {
    throw badRequest('Every entry of a batch or transaction needs a request (bdl-3)', `${at}.request`);
  }
  const method = request.method as unknown;
  if (typeof method !== 'string' || !METHODS.has(method)) {
    throw badRequest('request.method must be GET, HEAD, POST, PUT, PATCH or DELETE', `${at}.request.method`);
  }
  const rawUrl = optionalString(request.url, `${at}.request.url`);
  if (rawUrl === undefined) {
    throw badRequest('request.url is required', `${at}.request.url`);
  }
  const url = belowBase(rawUrl, outer.baseUrl);
  if (url === undefined) {
    throw badRequest(`request.url must be relative to this server's base ${outer.baseUrl}`, `${at}.request.url`);
  }
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = [...new URLSearchParams(q === -1 ? '' : url.slice(q + 1))].filter(([k]) => !HTTP_ONLY_PARAMETERS.has(k));
  if (path.includes('%00')) {
    throw badRequest('request.url contains a NUL character', `${at}.request.url`);
  }
  assertNoNul(query, 'request.url', `${at}.request.url`);
  let route;
  try {
    route = matchRoute(method as HttpMethod, pathSegments(path));
  } catch (error) {
    if (isOperationOutcomeError(error)) {
      for (const i of error.outcome.issue ?? []) {
        i.expression ??= [`${at}.request.url`];
      }
    }
    throw error;
  }
  const { body, contentType } =
    method === 'PATCH' ? patchBody(ctx, entry.resource, at) : { body: entry.resource, contentType: FHIR_JSON };
  const needsResource = route.interaction === 'create' || route.interaction === 'update' || route.interaction === 'conditional-update';
  if (needsResource && body === undefined) {
    throw badRequest(`${method} ${rawUrl} needs a resource`, `${at}.resource`);
  }
  if (route.interaction === 'patch' || route.interaction === 'conditional-patch') {
    if (body === undefined) {
      throw badRequest('PATCH needs a Binary resource holding the patch', `${at}.resource`);
    }
  }
  const ifMatch = optionalString(request.ifMatch, `${at}.request.ifMatch`);
  const ifNoneMatch = optionalString(request.ifNoneMatch, `${at}.request.ifNoneMatch`);
  const ifNoneExist = optionalString(request.ifNoneExist, `${at}.request.ifNoneExist`);
  const ifModifiedSince = optionalString(request.ifModifiedSince, `${at}.request.ifModifiedSince`);
  return {
    ...route,
    method: method as HttpMethod,
    query,
    ...(body !== undefined ? { body, contentType } : {}),
    ...(ifMatch !== undefined ? { ifMatch } : {}),
    ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
    ...(ifNoneExist !== undefined && route.interaction === 'create' ? { ifNoneExist } : {}),
    ...(ifModifiedSince !== undefined ? { ifModifiedSince } : {}),
    prefer: outer.prefer,
    baseUrl: outer.baseUrl,
  };
}
