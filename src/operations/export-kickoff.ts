/**
 * Bulk Data kick-off, shared by `$export` at system, Patient and Group level
 * (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-kick-off-request): checks the request,
 * records an export job (bulk-export/export-jobs.ts) and answers 202 with the job's status URL in
 * Content-Location. The job runs in the background on any node (bulk-export/export-runner.ts),
 * narrowed to what the requester may see; the status and file URLs are http/export-routes.ts.
 *
 * Who may export: any token with a search scope (`s`, in `.read` too): a bulk export is a search
 * over many types. The files hold only types the token may search; a `_type` the token may not
 * search is reported in the error file. A user token exports only their patients in care.
 */
import type { Group, OperationDefinitionParameter, OperationOutcome } from '@medplum/fhirtypes';
import { isR4ResourceType } from '../fhir/definitions.js';
import { parseDateRange } from '../fhir/dates.js';
import { badRequest, forbidden, isOperationOutcomeError, notFound, notSupported } from '../fhir/outcomes.js';
import { parseLocalReference } from '../fhir/references.js';
import type { FhirRequest, FhirResponse, QueryParams } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import { createExportJob, type ExportLevel, type ExportParameters } from '../bulk-export/export-jobs.js';
import type { Queryable } from '../storage/database.js';
import type { OperationInput } from './operation-parameters.js';

/** Schakel's own parameter: not a Bulk Data one, hence the prefix (bulk-export/export-pseudonyms.ts). */
export const PSEUDONYMIZE = 'schakel-pseudonymize';

/** The `in` parameters every level declares (the IG's definitions, of those Schakel supports, and its own). */
export const EXPORT_PARAMETERS: OperationDefinitionParameter[] = [
  { name: '_outputFormat', use: 'in', min: 0, max: '1', type: 'string' },
  { name: '_since', use: 'in', min: 0, max: '1', type: 'instant' },
  { name: '_type', use: 'in', min: 0, max: '*', type: 'string' },
  { name: '_typeFilter', use: 'in', min: 0, max: '*', type: 'string' },
  {
    name: PSEUDONYMIZE,
    use: 'in',
    min: 0,
    max: '1',
    type: 'boolean',
    documentation:
      'Schakel: true exports without BSN, names, addresses, telecom and photos, birth dates cut to the year, and Patient ids replaced by a keyed hash that links the files',
  },
];

/** "The server SHALL accept the full content type of application/fhir+ndjson as well as ... application/ndjson and ndjson." */
const OUTPUT_FORMATS: ReadonlySet<string> = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const KNOWN: ReadonlySet<string> = new Set(EXPORT_PARAMETERS.map((p) => p.name ?? ''));

export interface ExportKickoffDeps {
  /** The primary database: the job is a write, whatever replica the request's reads use. */
  readonly db: Queryable;
  readonly retentionHours: number;
  /** Whether EXPORT_PSEUDONYM_KEY is configured. */
  readonly pseudonymsAvailable: boolean;
}

function single(params: QueryParams, name: string): string | undefined {
  const values = params.filter(([k]) => k === name).map(([, v]) => v);
  if (values.length > 1) {
    throw badRequest(`${name} may be given once`, name);
  }
  return values[0];
}

function commaList(params: QueryParams, name: string): string[] {
  return params
    .filter(([k]) => k === name)
    .flatMap(([, v]) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

async function typeFilters(ctx: FhirContext, params: QueryParams, types: readonly string[] | undefined): Promise<ExportParameters['typeFilters']> {
  const filters: Record<string, Array<Array<[string, string]>>> = {};
  for (const [name, value] of params) {
    if (name !== '_typeFilter') {
      continue;
    }
    const mark = value.indexOf('?');
    const type = mark === -1 ? value : value.slice(0, mark);
    if (!isR4ResourceType(type) || mark === -1) {
      throw badRequest(`_typeFilter must be a search of one type, such as Observation?code=..., got "${value}"`, '_typeFilter');
    }
    if (types !== undefined && !types.includes(type)) {
      throw badRequest(`_typeFilter names ${type}, which _type leaves out`, '_typeFilter');
    }
    const query = [...new URLSearchParams(value.slice(mark + 1))];
    try {
      // Checks the query now, so that a bad one is a 400 here and not a failed job later.
      await ctx.search.findIds(ctx.repo.queryable, type, query, 1);
    } catch (error) {
      if (isOperationOutcomeError(error)) {
        throw badRequest(`_typeFilter ${type}: ${error.outcome.issue?.[0]?.details?.text ?? 'not a valid search'}`, '_typeFilter');
      }
      throw error;
    }
    (filters[type] ??= []).push(query);
  }
  return filters;
}

async function exportParameters(ctx: FhirContext, request: FhirRequest, deps: ExportKickoffDeps, input: OperationInput): Promise<ExportParameters> {
  const params = input.pairs;
  for (const [name] of params) {
    if (!KNOWN.has(name) && request.prefer.handling !== 'lenient') {
      // https://hl7.org/fhir/uv/bulkdata/export.html#query-parameters: with handling=lenient the
      // server may ignore what it does not support; otherwise it says so.
      throw notSupported(`$export does not support the parameter ${name}`, name);
    }
  }
  const outputFormat = single(params, '_outputFormat') ?? 'application/fhir+ndjson';
  if (!OUTPUT_FORMATS.has(outputFormat)) {
    throw badRequest(`_outputFormat must be application/fhir+ndjson, application/ndjson or ndjson, got "${outputFormat}"`, '_outputFormat');
  }
  const sinceText = single(params, '_since');
  let since: string | undefined;
  if (sinceText !== undefined) {
    const range = /^\d{4}-\d{2}-\d{2}T/.test(sinceText) ? parseDateRange(sinceText) : undefined;
    if (range === undefined) {
      throw badRequest(`_since must be an instant, got "${sinceText}"`, '_since');
    }
    since = range.start.toISOString();
  }
  const typeList = commaList(params, '_type');
  for (const type of typeList) {
    if (!isR4ResourceType(type)) {
      throw badRequest(`_type: unknown resource type "${type}"`, '_type');
    }
  }
  const types = typeList.length === 0 ? undefined : [...new Set(typeList)];
  const pseudonymizeText = single(params, PSEUDONYMIZE);
  if (pseudonymizeText !== undefined && pseudonymizeText !== 'true' && pseudonymizeText !== 'false') {
    throw badRequest(`${PSEUDONYMIZE} must be true or false`, PSEUDONYMIZE);
  }
  const pseudonymize = pseudonymizeText === 'true';
  if (pseudonymize && !deps.pseudonymsAvailable) {
    throw notSupported('Pseudonymised export is not configured on this server (EXPORT_PSEUDONYM_KEY)', PSEUDONYMIZE);
  }
  return {
    ...(types !== undefined ? { types } : {}),
    ...(since !== undefined ? { since } : {}),
    typeFilters: await typeFilters(ctx, params, types),
    outputFormat,
    pseudonymize,
  };
}

/** The patients of a Group's active members that are Patients (Group.member.entity). */
async function groupPatients(ctx: FhirContext, id: string): Promise<string[]> {
  const { json } = await ctx.repo.read('Group', id);
  if (json === undefined) {
    throw notFound(`Group/${id} is not known`);
  }
  const group = JSON.parse(json) as Group;
  const ids = (group.member ?? [])
    .filter((m) => m.inactive !== true)
    .map((m) => (m.entity.reference === undefined ? undefined : parseLocalReference(m.entity.reference, undefined)))
    .filter((r) => r?.resourceType === 'Patient')
    .map((r) => r?.id ?? '');
  return [...new Set(ids)];
}

function kickoffUrl(request: FhirRequest): string {
  const path = [request.resourceType, request.id, '$export'].filter((s): s is string => s !== undefined).join('/');
  const query = new URLSearchParams(request.query.map(([k, v]): [string, string] => [k, v])).toString();
  return `${request.baseUrl}/${path}${query === '' ? '' : `?${query}`}`;
}

/** Handles a kick-off at any level: 202 and the status URL, or 400/403/404 before anything is recorded. */
export async function kickOffExport(ctx: FhirContext, request: FhirRequest, level: ExportLevel, deps: ExportKickoffDeps, input: OperationInput): Promise<FhirResponse> {
  if (request.prefer.respondAsync !== true) {
    throw badRequest('$export runs asynchronously: send Prefer: respond-async');
  }
  const principal = ctx.principal;
  if (principal === undefined || !principal.scopes.scopes.some((s) => s.permissions.has('s'))) {
    throw forbidden('Bulk export needs a search scope (such as system/*.rs or system/Observation.read)');
  }
  const parsed = await exportParameters(ctx, request, deps, input);
  const patients = level === 'group' ? await groupPatients(ctx, request.id ?? '') : undefined;
  const id = await createExportJob(deps.db, {
    owner: principal,
    requestUrl: kickoffUrl(request),
    level,
    parameters: { ...parsed, ...(patients !== undefined ? { patients } : {}) },
    retentionHours: deps.retentionHours,
  });
  const accepted: OperationOutcome = {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', details: { text: 'Export accepted; poll the Content-Location for its status' } }],
  };
  return { status: 202, contentLocation: `${request.baseUrl}/_export/${id}`, resource: accepted };
}
