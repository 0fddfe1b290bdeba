// $everything: https://hl7.org/fhir/R4/patient-operation-everything.html
/**
 * Patient/{id}/$everything: the patient and every current resource that belongs to them, in one
 * searchset paged by a keyset cursor. "Belongs to" is the access rules' own notion (a resource that
 * references the patient, or inherits them from what it references; auth/patients-of.ts), so the
 * answer is exactly the record that care-relationship narrowing protects, and it is narrowed like
 * any read: a patient outside the caller's care answers 404, and each resource passes the filter.
 * Parameters: start and end (care dates: the Patient always, every other resource when its
 * clinical date (clinical-dates.ts) overlaps [start, end], or when it has none), _since
 * (meta.lastUpdated), _type (comma lists, repeats) and _count (page size). Every page carries the
 * exact total of the record as asked for, counted over the narrowed query. The server's own
 * bookkeeping (Provenance of each write, AuditEvents) is no part of the patient's record unless
 * _type names it.
 */
import type { Bundle, BundleLink, OperationDefinition, Resource } from '@medplum/fhirtypes';
import { parseDateRange, type TimeRange } from '../fhir/dates.js';
import { badRequest } from '../fhir/outcomes.js';
import { queryValue, queryValues, type FhirRequest, type FhirResponse } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import { withBinaryData } from '../repository/binary-content.js';
import { CLINICAL_DATE_PARAMS } from './clinical-dates.js';
import type { OperationInput } from './operation-parameters.js';
import type { OperationHandler } from './registry.js';
import { parseStoredJson } from '../fhir/json-parse.js';

const definition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Patient-everything',
  url: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
  name: 'Everything',
  status: 'active',
  kind: 'operation',
  code: 'everything',
  resource: ['Patient'],
  system: false,
  type: false,
  instance: true,
  affectsState: false,
  parameter: [
    { name: 'start', use: 'in', min: 0, max: '1', type: 'date' },
    { name: 'end', use: 'in', min: 0, max: '1', type: 'date' },
    { name: '_since', use: 'in', min: 0, max: '1', type: 'instant' },
    { name: '_type', use: 'in', min: 0, max: '*', type: 'code' },
    { name: '_count', use: 'in', min: 0, max: '1', type: 'integer' },
    { name: '_cursor', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The page a next link points at (as the server hands it out)' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle' },
  ],
};

/** Records of the server about writes and access, not the patient's care (audit/). */
const BOOKKEEPING = ['Provenance', 'AuditEvent'];

function careDate(input: OperationInput, name: 'start' | 'end'): TimeRange | undefined {
  const value = queryValue(input.pairs, name);
  if (value === undefined) {
    return undefined;
  }
  const range = parseDateRange(value);
  if (!range) {
    throw badRequest(`${name} must be a date, got "${value}"`, name);
  }
  return range;
}

function link(request: FhirRequest, params: Array<[string, string]>): string {
  const query = new URLSearchParams(params).toString();
  return `${request.baseUrl}/Patient/${request.id as string}/$everything${query ? `?${query}` : ''}`;
}

async function everything(ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<FhirResponse> {
  const id = request.id as string;
  await ctx.repo.read('Patient', id);
  const params: unknown[] = [id];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const where = ['NOT r.deleted'];
  const types = queryValues(input.pairs, '_type').flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  if (types.length > 0) {
    where.push(`r.resource_type = ANY(${bind(types)}::text[])`);
  } else {
    where.push(`r.resource_type <> ALL(${bind(BOOKKEEPING)}::text[])`);
  }
  const start = careDate(input, 'start');
  const end = careDate(input, 'end');
  if (start !== undefined || end !== undefined) {
    const dated = `SELECT 1 FROM search_date d
        JOIN unnest(${bind(Object.keys(CLINICAL_DATE_PARAMS))}::text[], ${bind(Object.values(CLINICAL_DATE_PARAMS))}::text[]) AS c(resource_type, param)
          ON d.resource_type = c.resource_type AND d.param = c.param
       WHERE d.sid = r.sid`;
    // Overlap with [start of start, end of end); an open end of the resource's period overlaps.
    const overlap = [
      ...(end !== undefined ? [`(d.start_at IS NULL OR d.start_at < ${bind(end.end.toISOString())})`] : []),
      ...(start !== undefined ? [`(d.end_at IS NULL OR d.end_at >= ${bind(start.start.toISOString())})`] : []),
    ].join(' AND ');
    where.push(`(r.resource_type = 'Patient' AND r.id = $1) OR NOT EXISTS (${dated}) OR EXISTS (${dated} AND ${overlap})`);
  }
  const since = queryValue(input.pairs, '_since');
  if (since !== undefined) {
    const range = parseDateRange(since);
    if (!range) {
      throw badRequest(`_since must be an instant, got "${since}"`, '_since');
    }
    where.push(`r.last_updated >= ${bind(range.start.toISOString())}`);
  }
  const narrowing = ctx.access?.filter({ alias: 'r', bind });
  if (narrowing !== undefined) {
    where.push(narrowing);
  }
  const record = `(r.resource_type, r.id) IN (SELECT p.resource_type, p.id FROM resource_patient p WHERE p.patient_id = $1)
        AND ${where.map((c) => `(${c})`).join(' AND ')}`;
  const counted = await ctx.repo.queryable.query<{ n: string | number }>(`SELECT count(*) AS n FROM resource r WHERE ${record}`, [...params]);
  const total = Number(counted[0]?.n ?? 0);
  const cursor = queryValue(input.pairs, '_cursor');
  if (cursor !== undefined) {
    if (!/^\d{1,18}$/.test(cursor)) {
      throw badRequest('_cursor is not a cursor this server handed out', '_cursor');
    }
  }
  const after = cursor === undefined ? '' : bind(cursor);
  const countRaw = queryValue(input.pairs, '_count');
  if (countRaw !== undefined && !/^\d+$/.test(countRaw)) {
    throw badRequest(`_count must be a whole number, got "${countRaw}"`, '_count');
  }
  const count = Math.min(countRaw === undefined ? ctx.config.defaultPageSize : Number(countRaw), ctx.config.maxPageSize);
  const rows = await ctx.repo.queryable.query<{ sid: string | number; content: string }>(
    `SELECT r.sid, r.content FROM resource r
      WHERE ${record}${cursor !== undefined ? ` AND r.sid > ${after}::bigint` : ''}
      ORDER BY r.sid LIMIT ${bind(count + 1)}`,
    params
  );
  const page = rows.slice(0, count);
  const echo: Array<[string, string]> = [
    ...(types.length > 0 ? [['_type', types.join(',')] as [string, string]] : []),
    ...(since !== undefined ? [['_since', since] as [string, string]] : []),
    ...(['start', 'end'] as const).flatMap((name) => {
      const value = queryValue(input.pairs, name);
      return value === undefined ? [] : [[name, value] as [string, string]];
    }),
    ['_count', String(count)],
  ];
  const links: BundleLink[] = [{ relation: 'self', url: link(request, cursor === undefined ? echo : [...echo, ['_cursor', cursor]]) }];
  const last = page[page.length - 1];
  if (rows.length > count && last) {
    links.push({ relation: 'next', url: link(request, [...echo, ['_cursor', String(last.sid)]]) });
  }
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link: links,
    // A Binary of the patient's with its bytes (repository/binary-content.ts).
    entry: (await withBinaryData(ctx.repo.queryable, page.map((row) => parseStoredJson<Resource>(row.content)))).map((resource) => ({
      fullUrl: `${request.baseUrl}/${resource.resourceType}/${resource.id as string}`,
      resource,
      search: { mode: 'match' as const },
    })),
  };
  if (bundle.entry?.length === 0) {
    delete bundle.entry;
  }
  return { status: 200, resource: bundle };
}

export const everythingOperation: OperationHandler = {
  name: 'everything',
  definition,
  resourceTypes: ['Patient'],
  levels: ['instance'],
  handle: everything,
};
