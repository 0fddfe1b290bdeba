// $everything: https://hl7.org/fhir/R4/patient-operation-everything.html
/**
 * Patient/{id}/$everything: the patient and every current resource that belongs to them, in one
 * searchset paged by a keyset cursor. "Belongs to" is the access rules' own notion (a resource that
 * references the patient, or inherits them from what it references; auth/patients-of.ts), so the
 * answer is exactly the record that care-relationship narrowing protects, and it is narrowed like
 * any read: a patient outside the caller's care answers 404, and each resource passes the filter.
 * Supports _type, _since and _count; start and end (care dates) are not supported.
 */
import type { Bundle, BundleLink, OperationDefinition, Resource } from '@medplum/fhirtypes';
import { parseDateRange } from '../fhir/dates.js';
import { badRequest, notSupported } from '../fhir/outcomes.js';
import { queryValue, queryValues, type FhirRequest, type FhirResponse } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import { withBinaryData } from '../repository/binary-content.js';
import type { OperationHandler } from './registry.js';

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
    { name: '_since', use: 'in', min: 0, max: '1', type: 'instant' },
    { name: '_type', use: 'in', min: 0, max: '*', type: 'code' },
    { name: '_count', use: 'in', min: 0, max: '1', type: 'integer' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle' },
  ],
};

const PARAMETERS = new Set(['_since', '_type', '_count', '_cursor']);

function link(request: FhirRequest, params: Array<[string, string]>): string {
  const query = new URLSearchParams(params).toString();
  return `${request.baseUrl}/Patient/${request.id as string}/$everything${query ? `?${query}` : ''}`;
}

async function everything(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  for (const [name] of request.query) {
    if (!PARAMETERS.has(name)) {
      throw notSupported(`$everything does not support ${name}`, name);
    }
  }
  const id = request.id as string;
  await ctx.repo.read('Patient', id);
  const params: unknown[] = [id];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const where = ['NOT r.deleted'];
  const types = queryValues(request.query, '_type').flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  if (types.length > 0) {
    where.push(`r.resource_type = ANY(${bind(types)}::text[])`);
  }
  const since = queryValue(request.query, '_since');
  if (since !== undefined) {
    const range = parseDateRange(since);
    if (!range) {
      throw badRequest(`_since must be an instant, got "${since}"`, '_since');
    }
    where.push(`r.last_updated >= ${bind(range.start.toISOString())}`);
  }
  const cursor = queryValue(request.query, '_cursor');
  if (cursor !== undefined) {
    if (!/^\d+$/.test(cursor)) {
      throw badRequest('_cursor is not a cursor this server handed out', '_cursor');
    }
    where.push(`r.sid > ${bind(cursor)}::bigint`);
  }
  const narrowing = ctx.access?.filter({ alias: 'r', bind });
  if (narrowing !== undefined) {
    where.push(narrowing);
  }
  const countRaw = queryValue(request.query, '_count');
  if (countRaw !== undefined && !/^\d+$/.test(countRaw)) {
    throw badRequest(`_count must be a whole number, got "${countRaw}"`, '_count');
  }
  const count = Math.min(countRaw === undefined ? ctx.config.defaultPageSize : Number(countRaw), ctx.config.maxPageSize);
  const rows = await ctx.repo.queryable.query<{ sid: string | number; content: string }>(
    `SELECT r.sid, r.content FROM resource r
      WHERE (r.resource_type, r.id) IN (SELECT p.resource_type, p.id FROM resource_patient p WHERE p.patient_id = $1)
        AND ${where.map((c) => `(${c})`).join(' AND ')}
      ORDER BY r.sid LIMIT ${bind(count + 1)}`,
    params
  );
  const page = rows.slice(0, count);
  const echo: Array<[string, string]> = [
    ...(types.length > 0 ? [['_type', types.join(',')] as [string, string]] : []),
    ...(since !== undefined ? [['_since', since] as [string, string]] : []),
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
    ...(cursor === undefined && rows.length <= count ? { total: page.length } : {}),
    link: links,
    // A Binary of the patient's with its bytes (repository/binary-content.ts).
    entry: (await withBinaryData(ctx.repo.queryable, page.map((row) => JSON.parse(row.content) as Resource))).map((resource) => ({
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
