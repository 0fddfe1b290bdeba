/**
 * Transport-free FHIR requests and responses. HTTP builds them in http/, Bundle entries build them
 * in interactions/batch.ts; every interaction handler sees only these.
 */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { badRequest } from './outcomes.js';

/** RESTful interaction codes of https://hl7.org/fhir/R4/http.html, plus the server's own routes. */
export type InteractionCode =
  | 'capabilities'
  | 'read'
  | 'vread'
  | 'update'
  | 'conditional-update'
  | 'patch'
  | 'conditional-patch'
  | 'delete'
  | 'conditional-delete'
  | 'create'
  | 'search-type'
  | 'search-system'
  | 'search-compartment'
  | 'history-instance'
  | 'history-type'
  | 'history-system'
  | 'batch-transaction'
  | 'operation';

/** Interactions that change a resource; each runs in one database transaction with its Provenance and AuditEvent. */
export const WRITE_INTERACTIONS: ReadonlySet<InteractionCode> = new Set([
  'create',
  'update',
  'conditional-update',
  'patch',
  'conditional-patch',
  'delete',
  'conditional-delete',
]);

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type QueryParams = ReadonlyArray<readonly [string, string]>;

export interface Prefer {
  /** https://hl7.org/fhir/R4/http.html#ops */
  readonly return?: 'minimal' | 'representation' | 'OperationOutcome';
  /** https://hl7.org/fhir/R4/search.html#errors */
  readonly handling?: 'strict' | 'lenient';
  /** `respond-async` (RFC 7240 §4.1): Bulk Data kick-off requires it (https://hl7.org/fhir/uv/bulkdata/export.html#headers). */
  readonly respondAsync?: boolean;
}

export interface FhirRequest {
  readonly interaction: InteractionCode;
  readonly method: HttpMethod;
  readonly resourceType?: string;
  readonly id?: string;
  readonly versionId?: string;
  /** Operation name without the leading `$`. */
  readonly operation?: string;
  /** For compartment search `Patient/{id}/{compartmentType}`. */
  readonly compartmentType?: string;
  /** Query parameters in order, repeats kept (AND semantics in search). */
  readonly query: QueryParams;
  readonly body?: unknown;
  /** Content type of the body, without parameters. */
  readonly contentType?: string;
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
  readonly ifNoneExist?: string;
  readonly ifModifiedSince?: string;
  /**
   * For create: the id the server chose ahead of time because other entries of a transaction
   * Bundle reference the new resource (https://hl7.org/fhir/R4/http.html#trules). HTTP never sets it.
   */
  readonly assignedId?: string;
  /**
   * For read and vread of a Binary: the client asked for the content in its own format rather
   * than a FHIR format (https://hl7.org/fhir/R4/binary.html#rest), so the bytes are the answer.
   */
  readonly nativeContent?: boolean;
  readonly prefer: Prefer;
  /** Absolute base URL of the FHIR endpoint, without trailing slash. */
  readonly baseUrl: string;
}

export interface FhirResponse {
  readonly status: number;
  /** The resource to return. */
  readonly resource?: Resource;
  /** The resource already serialised, as stored; saves a parse and a stringify on reads. */
  readonly json?: string;
  readonly location?: string;
  /** Content-Location of an asynchronous request's status URL (Bulk Data kick-off, 202). */
  readonly contentLocation?: string;
  readonly etag?: string;
  readonly lastModified?: string;
  /** The version's meta.lastUpdated as a FHIR instant (Bundle.entry.response.lastModified needs it). */
  readonly lastUpdated?: string;
  /** Warnings or information about a successful write, for Prefer: return=OperationOutcome. */
  readonly outcome?: OperationOutcome;
  /**
   * A Binary's content served as itself (FhirRequest.nativeContent): HTTP sends these bytes with
   * this content type instead of the resource; `json` still holds the resource without its data,
   * for the access re-check and the audit trail.
   */
  readonly binary?: { readonly contentType: string; readonly content: Uint8Array };
}

export function queryValues(query: QueryParams, name: string): string[] {
  return query.filter(([k]) => k === name).map(([, v]) => v);
}

export function queryValue(query: QueryParams, name: string): string | undefined {
  return query.find(([k]) => k === name)?.[1];
}

/**
 * Refuses parameters holding a NUL character (400): PostgreSQL text cannot hold NUL, and no FHIR
 * string may contain it (json-parse.ts refuses it in bodies). Every source of search criteria
 * passes here: the URL, a form body, a Bundle entry's request.url, an If-None-Exist header.
 */
export function assertNoNul(params: QueryParams, where: string, expression?: string): void {
  if (params.some(([k, v]) => k.includes('\u0000') || v.includes('\u0000'))) {
    throw badRequest(`${where} contains a NUL character`, expression);
  }
}
