/** Helpers for search tests: create fixtures over HTTP and read searchset Bundles. */
import type { TestApp } from './app.js';

/** Parsed JSON of a response (untyped on purpose: tests assert on its shape). */
export type Json = any;

export const BSN = 'http://fhir.nl/fhir/NamingSystem/bsn';

/** Creates (or puts, when it has an id) a resource and answers it as stored; fails loudly otherwise. */
export async function put(app: TestApp, resource: Record<string, unknown>): Promise<Json> {
  const hasId = typeof resource['id'] === 'string';
  const response = await app.request({
    method: hasId ? 'PUT' : 'POST',
    url: hasId ? `/fhir/${resource['resourceType'] as string}/${resource['id'] as string}` : `/fhir/${resource['resourceType'] as string}`,
    body: resource,
  });
  if (response.statusCode !== 200 && response.statusCode !== 201) {
    throw new Error(`write failed with ${response.statusCode}: ${response.body}`);
  }
  return response.json();
}

export interface SearchResult {
  readonly status: number;
  readonly body: Json;
  /** Ids of search.mode = match entries, in order. */
  readonly ids: string[];
  /** `Type/id` of search.mode = include entries, sorted. */
  readonly included: string[];
}

export async function search(app: TestApp, url: string, headers?: Record<string, string>): Promise<SearchResult> {
  const response = await app.request({ method: 'GET', url: url.startsWith('/') ? url : `/fhir/${url}`, ...(headers ? { headers } : {}) });
  const body = response.json();
  const entries: Json[] = body.entry ?? [];
  return {
    status: response.statusCode,
    body,
    ids: entries.filter((e) => e.search?.mode === 'match').map((e) => String(e.resource.id)),
    included: entries
      .filter((e) => e.search?.mode === 'include')
      .map((e) => `${e.resource.resourceType}/${e.resource.id}`)
      .sort(),
  };
}

/** Ids of a search, sorted (for order-insensitive assertions). */
export async function ids(app: TestApp, url: string): Promise<string[]> {
  const result = await search(app, url);
  if (result.status !== 200) {
    throw new Error(`search ${url} answered ${result.status}: ${JSON.stringify(result.body)}`);
  }
  return [...result.ids].sort();
}

/** A relative URL from an absolute link of a Bundle. */
export function linkPath(body: Json, relation: string): string | undefined {
  const url = body.link?.find((l: Json) => l.relation === relation)?.url as string | undefined;
  if (url === undefined) {
    return undefined;
  }
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}

/**
 * Bundle entries without the server's Provenance records: every create and update writes one
 * (docs/security.md), so system-level history shows them beside the writes a test counts.
 */
export function withoutProvenance(entries: Json[] | undefined): Json[] {
  return (entries ?? []).filter((e) => e.resource?.resourceType !== 'Provenance' && !String(e.fullUrl ?? '').includes('/Provenance/'));
}
