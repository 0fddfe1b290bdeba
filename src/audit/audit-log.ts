/**
 * read, vread, history-instance and search-type of AuditEvent, answered from the audit log
 * (audit/audit-log-search.ts) instead of the resource tables: the FHIR face of the log. An
 * AuditEvent is written once and never changes, so it has version 1 only.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { auditEventOf } from './audit-log-row.js';
import { readAuditLog, searchAuditLog } from './audit-log-search.js';
import { httpDate } from '../fhir/dates.js';
import { etagOf } from '../fhir/ids.js';
import { notFound, notSupported } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse, InteractionCode } from '../fhir/request.js';
import { buildBundle } from '../search/bundle.js';
import { parseSearchRequest } from '../search/request.js';
import type { FhirContext } from '../interactions/context.js';
import type { InteractionHandler } from '../interactions/dispatch.js';
import { withinSearchBudget } from '../interactions/search-budget.js';

async function readEvent(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const id = request.id as string;
  const row = await readAuditLog(ctx.repo.queryable, id);
  if (!row || (request.versionId !== undefined && request.versionId !== '1')) {
    throw notFound(request.versionId === undefined ? `AuditEvent/${id} is not known` : `AuditEvent/${id}/_history/${request.versionId} is not known`);
  }
  const resource = auditEventOf(row, ctx.auditTrail.site);
  const lastUpdated = resource.meta?.lastUpdated as string;
  if (request.ifNoneMatch !== undefined && request.ifNoneMatch.split(',').some((tag) => ['*', etagOf(1), '"1"', '1'].includes(tag.trim()))) {
    return { status: 304, etag: etagOf(1) };
  }
  return { status: 200, resource, etag: etagOf(1), lastModified: httpDate(lastUpdated), lastUpdated };
}

async function historyOfEvent(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const id = request.id as string;
  const row = await readAuditLog(ctx.repo.queryable, id);
  if (!row) {
    throw notFound(`AuditEvent/${id} is not known`);
  }
  const resource = auditEventOf(row, ctx.auditTrail.site);
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'history',
    total: 1,
    link: [{ relation: 'self', url: `${request.baseUrl}/AuditEvent/${id}/_history` }],
    entry: [
      {
        fullUrl: `${request.baseUrl}/AuditEvent/${id}`,
        resource,
        request: { method: 'POST', url: 'AuditEvent' },
        response: { status: '201 Created', etag: etagOf(1), lastModified: resource.meta?.lastUpdated as string },
      },
    ],
  };
  return { status: 200, resource: bundle };
}

async function searchEvents(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const { defaultPageSize, maxPageSize } = ctx.config;
  const parsed = parseSearchRequest(['AuditEvent'], request.query, request.prefer.handling === 'lenient', { defaultCount: defaultPageSize, maxCount: maxPageSize });
  const page = await withinSearchBudget(ctx, (db) => searchAuditLog(db, parsed));
  const input = { resourceTypes: ['AuditEvent'], query: request.query, prefer: request.prefer, baseUrl: request.baseUrl, linkPath: 'AuditEvent' };
  const bundle = buildBundle({
    input,
    request: parsed,
    total: page.total,
    links: { next: page.next },
    matches: page.rows.map((row) => auditEventOf(row, ctx.auditTrail.site)),
    included: [],
  });
  return { status: 200, resource: bundle };
}

const AUDIT_LOG_HANDLERS: Partial<Record<InteractionCode, InteractionHandler>> = {
  read: readEvent,
  vread: readEvent,
  'history-instance': historyOfEvent,
  'search-type': searchEvents,
};

/**
 * Patient/{id}/AuditEvent: the patient's compartment holds the AuditEvents naming the patient
 * (compartmentdefinition-patient.html: AuditEvent by `patient`), which is AuditEvent?patient=.
 */
const patientCompartment: InteractionHandler = (ctx, request) =>
  searchEvents(ctx, { ...request, interaction: 'search-type', resourceType: 'AuditEvent', query: [...request.query, ['patient', `Patient/${request.id as string}`]] });

/**
 * Type and system history, and a system search naming AuditEvent in `_type`, read the resource
 * tables, where AuditEvents are not kept: without this they would answer an empty list, which for
 * an access log reads as "nobody looked".
 */
const notFromTheLog =
  (what: string): InteractionHandler =>
  () =>
    Promise.reject(notSupported(`${what}: the audit log answers AuditEvent read, history of one AuditEvent and AuditEvent? search`, what));

function namesAuditEvent(request: FhirRequest): boolean {
  return request.query.some(([name, value]) => name === '_type' && value.split(',').some((type) => type.trim() === 'AuditEvent'));
}

/** The audit log's handler for an interaction on AuditEvent; undefined for every other request. */
export function auditLogHandler(request: FhirRequest): InteractionHandler | undefined {
  if (request.interaction === 'search-compartment' && request.compartmentType === 'AuditEvent') {
    return request.resourceType === 'Patient' ? patientCompartment : notFromTheLog(`${request.resourceType ?? ''}/{id}/AuditEvent`);
  }
  if (request.interaction === 'search-system' && namesAuditEvent(request)) {
    return notFromTheLog('_type=AuditEvent');
  }
  if (request.interaction === 'history-type' && request.resourceType === 'AuditEvent') {
    return notFromTheLog('AuditEvent/_history');
  }
  return request.resourceType === 'AuditEvent' ? AUDIT_LOG_HANDLERS[request.interaction] : undefined;
}
