/**
 * The answer to GET [base]/metadata (https://hl7.org/fhir/R4/http.html#capabilities) from the
 * built CapabilityStatement: `_summary` and `_elements` (search.html#summary, #elements, which
 * http.html#capabilities allows on this interaction too), a weak ETag derived from the content
 * returned, and 304 for an If-None-Match that names it (RFC 9110 13.1.2, weak comparison).
 */
import { createHash } from 'node:crypto';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcomes.js';
import { queryValue, type FhirRequest, type FhirResponse } from '../fhir/request.js';
import { deepSummary, shapeResource, type SummaryMode } from '../search/summary.js';

const SUMMARY_MODES: readonly SummaryMode[] = ['true', 'false', 'text', 'data'];

function summaryMode(request: FhirRequest): SummaryMode | undefined {
  const value = queryValue(request.query, '_summary');
  if (value === undefined) {
    return undefined;
  }
  if (!SUMMARY_MODES.includes(value as SummaryMode)) {
    // `count` is a search's; a CapabilityStatement is one resource.
    throw badRequest(`_summary on metadata must be one of ${SUMMARY_MODES.join(', ')}`, '_summary');
  }
  return value as SummaryMode;
}

function elements(request: FhirRequest): string[] | undefined {
  const value = queryValue(request.query, '_elements');
  return value === undefined ? undefined : value.split(',').map((e) => e.trim()).filter((e) => e !== '');
}

/** A weak entity tag of the serialised content: equal content, equal tag, across restarts too. */
export function contentEtag(json: string): string {
  return `W/"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
}

export function ifNoneMatchNames(ifNoneMatch: string, etag: string): boolean {
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag));
}

/** The statement as the request asks for it, with its ETag, or 304 when the client's copy is current. */
export function metadataResponse(statement: CapabilityStatement, request: FhirRequest): FhirResponse {
  const summary = summaryMode(request);
  const wanted = elements(request);
  // rest is a summary element, so a top-level summary would keep nearly all; summarise at depth.
  const shaped =
    summary === 'true' ? deepSummary(statement) : summary === undefined && wanted === undefined ? statement : shapeResource(statement, summary, wanted);
  const json = JSON.stringify(shaped);
  const etag = contentEtag(json);
  if (request.ifNoneMatch !== undefined && ifNoneMatchNames(request.ifNoneMatch, etag)) {
    return { status: 304, etag };
  }
  return { status: 200, json, etag };
}
