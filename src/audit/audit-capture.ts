/**
 * What dispatch tells the audit trail about one interaction (the NEN 7513 "object": patients,
 * resources read or written with their exact version, the query of a search). The re-check of what
 * is returned against the access rule is auth's (auth/response-recheck.ts).
 */
import type { Resource } from '@medplum/fhirtypes';
import { directPatients, identifiedPatients } from '../auth/patients-of.js';
import type { AuditAction, AuditRecord } from './audit-record.js';
import { versionFromEtag } from '../fhir/ids.js';
import type { FhirRequest, FhirResponse, InteractionCode } from '../fhir/request.js';
import type { Queryable } from '../storage/database.js';

const ACTION: Partial<Record<InteractionCode, AuditAction>> = {
  create: 'C',
  read: 'R',
  vread: 'R',
  'search-type': 'R',
  'search-system': 'R',
  'search-compartment': 'R',
  'history-instance': 'R',
  'history-type': 'R',
  'history-system': 'R',
  update: 'U',
  'conditional-update': 'U',
  patch: 'U',
  'conditional-patch': 'U',
  delete: 'D',
  'conditional-delete': 'D',
};

const QUERIES: ReadonlySet<InteractionCode> = new Set([
  'search-type',
  'search-system',
  'search-compartment',
  'history-type',
  'history-system',
  'history-instance',
  'conditional-update',
  'conditional-patch',
  'conditional-delete',
]);

/** Bundles whose entries are resources the caller gets to see. */
const LISTS: ReadonlySet<string> = new Set(['searchset', 'history', 'collection']);

export function actionOf(request: FhirRequest): AuditAction {
  return ACTION[request.interaction] ?? (request.method === 'GET' ? 'R' : 'E');
}

/** The parts of the request itself: its target and query. */
export function captureRequest(record: AuditRecord, request: FhirRequest): void {
  if (QUERIES.has(request.interaction) || (request.interaction === 'operation' && request.query.length > 0)) {
    const path =
      request.interaction === 'search-compartment'
        ? `${request.resourceType as string}/${request.id as string}/${request.compartmentType as string}`
        : (request.resourceType ?? '');
    const query = new URLSearchParams(request.query.map(([k, v]) => [k, v] as [string, string])).toString();
    record.query = `${path}?${query}`;
  }
  if (request.resourceType === 'Patient' && request.id !== undefined) {
    record.patients.add(request.id);
  }
}

function note(record: AuditRecord, resource: Resource, version?: string | number): void {
  const vid = version ?? resource.meta?.versionId;
  record.entities.push(`${resource.resourceType}/${resource.id ?? ''}${vid === undefined ? '' : `/_history/${vid}`}`);
  for (const id of directPatients(resource)) {
    record.patients.add(id);
  }
}

/** The resources of an answer: a single one, or the entries of a search or history Bundle. */
export function returned(response: FhirResponse): Resource[] {
  const resource = response.resource ?? (response.json !== undefined ? (JSON.parse(response.json) as Resource) : undefined);
  if (resource === undefined || resource.resourceType === 'OperationOutcome') {
    return [];
  }
  if (resource.resourceType === 'Bundle' && LISTS.has((resource).type)) {
    return ((resource).entry ?? []).map((e) => e.resource).filter((r): r is Resource => r !== undefined && r.resourceType !== 'OperationOutcome');
  }
  if (resource.resourceType === 'Bundle' && (resource).type !== 'document') {
    return [];
  }
  return [resource];
}

/** Records what an answer holds; for a write, the exact version written. */
export function captureResponse(record: AuditRecord, request: FhirRequest, response: FhirResponse, resources: readonly Resource[]): void {
  if (resources.length === 1 && response.etag !== undefined && response.resource !== undefined) {
    note(record, resources[0] as Resource, versionFromEtag(response.etag));
    return;
  }
  if (resources.length === 0 && request.resourceType !== undefined && request.id !== undefined) {
    record.entities.push(`${request.resourceType}/${request.id}`);
  }
  for (const resource of resources) {
    note(record, resource);
  }
}

/** The patients of returned resources that name them by identifier only (resolved on write). */
export async function captureIdentifiedPatients(db: Queryable, record: AuditRecord, resources: readonly Resource[]): Promise<void> {
  for (const ids of (await identifiedPatients(db, resources)).values()) {
    ids.forEach((id) => record.patients.add(id));
  }
}

/**
 * The failed request's target, when it names one, and the patients it belongs to: an attempt on a
 * record the caller may not see belongs in that patient's access log all the same (NEN 7513).
 */
export async function captureFailure(db: Queryable, record: AuditRecord, request: FhirRequest): Promise<void> {
  if (request.resourceType === undefined || request.id === undefined) {
    return;
  }
  record.entities.push(`${request.resourceType}/${request.id}${request.versionId !== undefined ? `/_history/${request.versionId}` : ''}`);
  const rows = await db.query<{ patient_id: string }>('SELECT patient_id FROM resource_patient WHERE resource_type = $1 AND id = $2', [
    request.resourceType,
    request.id,
  ]);
  rows.forEach((row) => record.patients.add(row.patient_id));
}
