/**
 * Read, vread, instance history and search of the definitional types whose R4 definitions are
 * served from memory (definitions/built-in-definitions.ts), merged with what is stored: a stored
 * resource answers first, and one with the same canonical url replaces the built-in one
 * everywhere (read, search), so an operator can override a definition by storing it.
 * https://hl7.org/fhir/R4/http.html#read, #vread, #history, #search.
 */
import type { Bundle, BundleLink, Resource } from '@medplum/fhirtypes';
import { builtInDefinition, builtInDefinitions, isBuiltInType, type BuiltInDefinition } from '../definitions/built-in-definitions.js';
import { filterParameters, matchesQuery, searchableInMemory } from '../definitions/built-in-search.js';
import { badRequest, forbidden, isOperationOutcomeError, notFound, statusOf } from '../fhir/outcomes.js';
import { etagOf } from '../fhir/ids.js';
import type { FhirRequest, FhirResponse, QueryParams } from '../fhir/request.js';
import { queryValue } from '../fhir/request.js';
import type { StoredVersion } from '../repository/types.js';
import type { FhirContext } from './context.js';
import { pageSize } from './history.js';
import { versionResponse } from './respond.js';

type Handler = (ctx: FhirContext, request: FhirRequest) => Promise<FhirResponse>;

/** Stored definitions of this type the search may return at most in one merged search. */
const MAX_STORED = 10_000;

/** Canonical urls of the current stored resources of a type: these replace built-in ones. */
async function storedUrls(ctx: FhirContext, resourceType: string): Promise<Set<string>> {
  const rows = await ctx.repo.queryable.query<{ uri: string }>(
    `SELECT u.uri FROM search_uri u JOIN resource r ON r.sid = u.sid
      WHERE u.resource_type = $1 AND u.param = 'url' AND NOT r.deleted`,
    [resourceType]
  );
  return new Set(rows.map((row) => row.uri));
}

/** Whether a current stored resource of the type has this canonical url. */
async function storedUrl(ctx: FhirContext, resourceType: string, url: string): Promise<boolean> {
  const rows = await ctx.repo.queryable.query(
    `SELECT 1 FROM search_uri u JOIN resource r ON r.sid = u.sid
      WHERE u.resource_type = $1 AND u.param = 'url' AND u.uri = $2 AND NOT r.deleted LIMIT 1`,
    [resourceType, url]
  );
  return rows.length > 0;
}

/** Serialised once: base StructureDefinitions run to hundreds of kilobytes. */
const serialised = new WeakMap<BuiltInDefinition, string>();

function versionOf(definition: BuiltInDefinition): StoredVersion {
  let json = serialised.get(definition);
  if (json === undefined) {
    json = JSON.stringify(definition);
    serialised.set(definition, json);
  }
  return {
    resourceType: definition.resourceType,
    id: definition.id,
    versionId: 1,
    lastUpdated: definition.meta.lastUpdated,
    deleted: false,
    json,
    method: 'PUT',
  };
}

function isNotFound(error: unknown): boolean {
  return isOperationOutcomeError(error) && statusOf(error.outcome) === 404;
}

/** The built-in definition the request's id names, unless a stored resource replaces it. */
async function servedBuiltIn(ctx: FhirContext, request: FhirRequest): Promise<BuiltInDefinition | undefined> {
  const definition = builtInDefinition(request.resourceType as string, request.id as string);
  if (definition === undefined || (await storedUrl(ctx, definition.resourceType, definition.url))) {
    return undefined;
  }
  return definition;
}

/**
 * Wraps read, vread or instance history: the stored resource when there is one (a deleted one
 * answers 410 as stored), else the built-in definition of that id.
 */
function orBuiltIn(stored: Handler, builtIn: (definition: BuiltInDefinition, request: FhirRequest) => FhirResponse): Handler {
  return async (ctx, request) => {
    if (!isBuiltInType(request.resourceType) || request.id === undefined) {
      return stored(ctx, request);
    }
    try {
      return await stored(ctx, request);
    } catch (error) {
      if (!isNotFound(error)) {
        throw error;
      }
      const definition = await servedBuiltIn(ctx, request);
      if (definition === undefined) {
        throw error;
      }
      return builtIn(definition, request);
    }
  };
}

export function readWithBuiltIns(read: Handler): Handler {
  return orBuiltIn(read, (definition, request) => versionResponse(200, versionOf(definition), { native: request.nativeContent === true }));
}

export function vreadWithBuiltIns(vread: Handler): Handler {
  return orBuiltIn(vread, (definition, request) => {
    if (request.versionId !== '1') {
      throw notFound(`${definition.resourceType}/${definition.id} has no version ${request.versionId ?? ''}`);
    }
    return versionResponse(200, versionOf(definition));
  });
}

export function historyWithBuiltIns(history: Handler): Handler {
  return orBuiltIn(history, (definition, request) => {
    const url = `${request.baseUrl}/${definition.resourceType}/${definition.id}/_history`;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'history',
      total: 1,
      link: [{ relation: 'self', url }],
      entry: [
        {
          fullUrl: `${request.baseUrl}/${definition.resourceType}/${definition.id}`,
          resource: definition,
          request: { method: 'PUT', url: `${definition.resourceType}/${definition.id}` },
          response: { status: '201 Created', etag: etagOf(1), lastModified: definition.meta.lastUpdated },
        },
      ],
    };
    return { status: 200, resource: bundle };
  });
}

/**
 * Wraps delete: a built-in definition cannot be deleted (403, as seed/definitions.ts refuses
 * writes to it). Without this the delete of a resource that was never stored would answer 204.
 */
export function deleteWithBuiltIns(remove: Handler): Handler {
  return async (ctx, request) => {
    const type = request.resourceType;
    if (type !== undefined && request.id !== undefined && builtInDefinition(type, request.id) !== undefined) {
      throw forbidden(`${type}/${request.id} is a definition of FHIR R4 and is read-only`);
    }
    return remove(ctx, request);
  };
}

function offsetOf(query: QueryParams): number {
  const raw = queryValue(query, '_offset');
  if (raw === undefined) {
    return 0;
  }
  if (!/^\d{1,9}$/.test(raw)) {
    throw badRequest(`_offset must be a whole number, got "${raw}"`, '_offset');
  }
  return Number(raw);
}

async function storedMatches(ctx: FhirContext, resourceType: string, filters: QueryParams): Promise<Resource[]> {
  const ids = await ctx.search.findIds(ctx.repo.queryable, resourceType, filters, MAX_STORED);
  if (ids.length === 0) {
    return [];
  }
  const rows = await ctx.repo.queryable.query<{ content: string }>(
    `SELECT content FROM resource WHERE resource_type = $1 AND id = ANY($2::text[]) AND NOT deleted ORDER BY id`,
    [resourceType, ids]
  );
  return rows.map((row) => JSON.parse(row.content) as Resource);
}

function pageLink(request: FhirRequest, filters: QueryParams, count: number, offset: number): string {
  const params = new URLSearchParams([...filters.map(([k, v]): [string, string] => [k, v]), ['_count', String(count)], ['_offset', String(offset)]]);
  return `${request.baseUrl}/${request.resourceType as string}?${params.toString()}`;
}

/**
 * Type search over stored and built-in definitions: the stored matches first, then the built-in
 * ones not replaced by a stored resource of the same url, each by id; paged by `_count` and
 * `_offset` (a static list: an offset neither repeats nor skips). A query with parameters the
 * built-in definitions cannot be searched by (built-in-search.ts) searches the stored ones only.
 */
export function searchWithBuiltIns(search: Handler): Handler {
  return async (ctx, request) => {
    const type = request.resourceType;
    if (!isBuiltInType(type) || type === undefined || !searchableInMemory(type, request.query)) {
      return search(ctx, request);
    }
    const filters = filterParameters(request.query);
    const count = pageSize(ctx.config, queryValue(request.query, '_count'));
    const offset = offsetOf(request.query);
    const stored = await storedMatches(ctx, type, filters);
    const replaced = await storedUrls(ctx, type);
    const builtIns = builtInDefinitions(type)
      .filter((d) => !replaced.has(d.url) && matchesQuery(d, filters))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const all: Resource[] = [...stored, ...builtIns];
    const page = all.slice(offset, offset + count);
    const links: BundleLink[] = [{ relation: 'self', url: pageLink(request, filters, count, offset) }];
    if (offset > 0) {
      links.push({ relation: 'previous', url: pageLink(request, filters, count, Math.max(0, offset - count)) });
    }
    if (count > 0 && offset + count < all.length) {
      links.push({ relation: 'next', url: pageLink(request, filters, count, offset + count) });
    }
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: all.length,
      link: links,
      ...(page.length > 0
        ? { entry: page.map((resource) => ({ fullUrl: `${request.baseUrl}/${type}/${resource.id as string}`, resource, search: { mode: 'match' as const } })) }
        : {}),
    };
    return { status: 200, resource: bundle };
  };
}
