/**
 * The searchset Bundle (https://hl7.org/fhir/R4/bundle.html#searchset): matches with
 * search.mode = match, included resources with search.mode = include, warnings about ignored
 * parameters in an OperationOutcome entry with search.mode = outcome, and self / first / next /
 * previous links that repeat the parameters in use.
 */
import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import type { SearchRequest } from './request.js';
import { shapeResource } from './summary.js';
import type { SearchInput } from './types.js';

export interface PageLinks {
  next?: string | undefined;
  previous?: string | undefined;
}

export interface BundleParts {
  readonly input: SearchInput;
  readonly request: SearchRequest;
  readonly total: number | undefined;
  readonly links: PageLinks;
  readonly matches: readonly Resource[];
  readonly included: readonly Resource[];
}

function url(input: SearchInput, params: ReadonlyArray<readonly [string, string]>): string {
  const query = new URLSearchParams(params.map(([k, v]) => [k, v] as [string, string])).toString();
  const path = input.linkPath === '' ? input.baseUrl : `${input.baseUrl}/${input.linkPath}`;
  return query === '' ? path : `${path}?${query}`;
}

function entry(input: SearchInput, resource: Resource, mode: 'match' | 'include'): BundleEntry {
  return {
    fullUrl: `${input.baseUrl}/${resource.resourceType}/${resource.id as string}`,
    resource,
    search: { mode },
  };
}

export function buildBundle(parts: BundleParts): Bundle {
  const { input, request } = parts;
  const echo = request.echo;
  const link: BundleLink[] = [
    { relation: 'self', url: url(input, request.cursor === undefined ? echo : [...echo, ['_cursor', request.cursor]]) },
    { relation: 'first', url: url(input, echo) },
  ];
  if (parts.links.previous !== undefined) {
    link.push({ relation: 'previous', url: url(input, [...echo, ['_cursor', parts.links.previous]]) });
  }
  if (parts.links.next !== undefined) {
    link.push({ relation: 'next', url: url(input, [...echo, ['_cursor', parts.links.next]]) });
  }
  const entries: BundleEntry[] = [
    ...parts.matches.map((r) => entry(input, shapeResource(r, request.summary, request.elements), 'match')),
    ...parts.included.map((r) => entry(input, shapeResource(r, request.summary, undefined), 'include')),
  ];
  if (request.issues.length > 0) {
    entries.push({ resource: { resourceType: 'OperationOutcome', issue: request.issues }, search: { mode: 'outcome' } });
  }
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(parts.total !== undefined ? { total: parts.total } : {}),
    link,
    ...(entries.length > 0 ? { entry: entries } : {}),
  };
}
