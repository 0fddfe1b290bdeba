/**
 * GET [base]/openapi.json: the OpenAPI document of interactions/openapi.ts, built once per
 * CapabilityStatement object (which dispatch caches per base URL), with a weak ETag of its
 * content and 304 for an If-None-Match that names it, like GET [base]/metadata.
 */
import type { CapabilityStatement } from '@medplum/fhirtypes';
import type { FhirContext } from './context.js';
import { capabilityStatement } from './dispatch.js';
import { contentEtag, ifNoneMatchNames } from './metadata-response.js';
import { buildOpenApi } from './openapi.js';

export interface OpenApiResponse {
  readonly status: 200 | 304;
  readonly etag: string;
  readonly json?: string;
}

/** Per statement, then per scope list (clients, and with them the scopes, may be registered later). */
const documents = new WeakMap<CapabilityStatement, Map<string, { readonly json: string; readonly etag: string }>>();

export function openApiResponse(ctx: FhirContext, baseUrl: string, scopes: readonly string[], ifNoneMatch: string | undefined): OpenApiResponse {
  const statement = capabilityStatement(ctx, baseUrl);
  let byScopes = documents.get(statement);
  if (!byScopes) {
    byScopes = new Map();
    documents.set(statement, byScopes);
  }
  const key = scopes.join(' ');
  let document = byScopes.get(key);
  if (!document) {
    const json = JSON.stringify(
      buildOpenApi({
        statement,
        operationDefinition: (url) => ctx.operations.all().find((op) => op.definition.url === url)?.definition,
        scopes,
      })
    );
    document = { json, etag: contentEtag(json) };
    byScopes.set(key, document);
  }
  if (ifNoneMatch !== undefined && ifNoneMatchNames(ifNoneMatch, document.etag)) {
    return { status: 304, etag: document.etag };
  }
  return { status: 200, etag: document.etag, json: document.json };
}
