// history: https://hl7.org/fhir/R4/http.html#history (instance, type and system level)
import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import type { Config } from '../config/config.js';
import { parseDateRange } from '../fhir/dates.js';
import { etagOf } from '../fhir/ids.js';
import { badRequest } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse, QueryParams } from '../fhir/request.js';
import { withBinaryData } from '../repository/binary-content.js';
import type { HistoryQuery, StoredVersion } from '../repository/types.js';
import type { FhirContext } from './context.js';
import { parseStoredJson } from '../fhir/json-parse.js';

const HISTORY_PARAMETERS = new Set(['_count', '_since', '_at', '_cursor']);

function single(query: QueryParams, name: string): string | undefined {
  const values = query.filter(([k]) => k === name);
  if (values.length > 1) {
    throw badRequest(`${name} may appear only once`, name);
  }
  return values[0]?.[1];
}

export function pageSize(config: Config, raw: string | undefined): number {
  if (raw === undefined) {
    return config.defaultPageSize;
  }
  if (!/^\d+$/.test(raw)) {
    throw badRequest(`_count must be a whole number, got "${raw}"`, '_count');
  }
  return Math.min(Number(raw), config.maxPageSize);
}

function historyQuery(ctx: FhirContext, request: FhirRequest): { query: HistoryQuery; echo: QueryParams } {
  const lenient = request.prefer.handling === 'lenient';
  for (const [name] of request.query) {
    if (!HISTORY_PARAMETERS.has(name) && !lenient) {
      throw badRequest(`Unknown parameter "${name}" for history`, name);
    }
  }
  const count = pageSize(ctx.config, single(request.query, '_count'));
  const sinceRaw = single(request.query, '_since');
  const atRaw = single(request.query, '_at');
  const cursor = single(request.query, '_cursor');
  let since: Date | undefined;
  if (sinceRaw !== undefined) {
    const range = parseDateRange(sinceRaw);
    if (!range) {
      throw badRequest(`_since must be an instant, got "${sinceRaw}"`, '_since');
    }
    since = range.start;
  }
  const at = atRaw === undefined ? undefined : parseDateRange(atRaw.replace(/^eq/, ''));
  if (atRaw !== undefined && !at) {
    throw badRequest(`_at must be a date or dateTime, got "${atRaw}"`, '_at');
  }
  if (cursor !== undefined && !/^\d+$/.test(cursor)) {
    throw badRequest('_cursor is not a cursor this server handed out', '_cursor');
  }
  const echo: Array<[string, string]> = [['_count', String(count)]];
  if (sinceRaw !== undefined) {
    echo.push(['_since', sinceRaw]);
  }
  if (atRaw !== undefined) {
    echo.push(['_at', atRaw]);
  }
  return {
    query: {
      ...(request.resourceType !== undefined ? { resourceType: request.resourceType } : {}),
      ...(request.id !== undefined ? { id: request.id } : {}),
      ...(since ? { since } : {}),
      ...(at ? { at } : {}),
      count,
      ...(cursor !== undefined ? { before: cursor } : {}),
      // System-wide totals would count the whole history table; the spec leaves total optional.
      withTotal: request.resourceType !== undefined,
    },
    echo,
  };
}

function statusLine(version: StoredVersion): string {
  if (version.deleted) {
    return '204 No Content';
  }
  return version.versionId === 1 || version.method === 'POST' ? '201 Created' : '200 OK';
}

function entry(baseUrl: string, version: StoredVersion, resource: Resource | undefined): BundleEntry {
  const url = version.method === 'POST' ? version.resourceType : `${version.resourceType}/${version.id}`;
  return {
    fullUrl: `${baseUrl}/${version.resourceType}/${version.id}`,
    ...(resource !== undefined ? { resource } : {}),
    request: { method: version.method, url },
    response: { status: statusLine(version), etag: etagOf(version.versionId), lastModified: version.lastUpdated },
  };
}

function link(baseUrl: string, path: string, params: QueryParams): string {
  const search = new URLSearchParams(params.map(([k, v]) => [k, v] as [string, string])).toString();
  return `${baseUrl}${path}${search ? `?${search}` : ''}`;
}

export async function history(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  if (request.id !== undefined) {
    // An unknown id is a 404; a deleted one still has its history.
    const current = await ctx.repo.readCurrent(request.resourceType as string, request.id);
    if (!current) {
      await ctx.repo.read(request.resourceType as string, request.id);
    }
  }
  const { query, echo } = historyQuery(ctx, request);
  const page = await ctx.repo.history(query);
  const path =
    request.resourceType === undefined
      ? '/_history'
      : request.id === undefined
        ? `/${request.resourceType}/_history`
        : `/${request.resourceType}/${request.id}/_history`;
  const links: BundleLink[] = [{ relation: 'self', url: link(request.baseUrl, path, request.query) }];
  if (page.next !== undefined) {
    links.push({ relation: 'next', url: link(request.baseUrl, path, [...echo, ['_cursor', page.next]]) });
  }
  const stored = page.versions.flatMap((v) => (v.json === undefined ? [] : [parseStoredJson<Resource>(v.json)]));
  // Each Binary version with its own bytes (binary-content.ts).
  const resources = await withBinaryData(ctx.repo.queryable, stored);
  let next = 0;
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'history',
    ...(page.total !== undefined ? { total: page.total } : {}),
    link: links,
    entry: page.versions.map((v) => entry(request.baseUrl, v, v.json === undefined ? undefined : resources[next++])),
  };
  if (bundle.entry?.length === 0) {
    delete bundle.entry;
  }
  return { status: 200, resource: bundle };
}
