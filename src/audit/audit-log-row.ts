/**
 * A row of the audit log (storage/migrations/013_audit_log.sql) back as the AuditRecord it was
 * written from, so that toAuditEvent renders the same AuditEvent it always did.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { ActingUser, Principal, TokenIdentifier } from '../auth/principal.js';
import { ScopeSet } from '../auth/scopes.js';
import { toAuditEvent } from './audit-event.js';
import type { AuditAction, AuditRecord } from './audit-record.js';

export interface AuditLogRow {
  readonly id: string;
  readonly recorded: Date | string;
  readonly event: string;
  readonly operation: string | null;
  readonly action: string;
  readonly outcome: number;
  readonly failure: string | null;
  readonly client_id: string | null;
  readonly user_system: string | null;
  readonly user_value: string | null;
  readonly user_name: string | null;
  readonly user_role: string | null;
  readonly user_reference: string | null;
  readonly organization_system: string | null;
  readonly organization_value: string | null;
  readonly organization_reference: string | null;
  readonly responsible_system: string | null;
  readonly responsible_value: string | null;
  readonly btg_reason: string | null;
  readonly address: string | null;
  readonly patients: string[];
  readonly resources: string[];
  readonly resource_type: string | null;
  readonly query: string | null;
}

/** Where a rendering reads from: the record with its agent (storage/migrations/013_audit_log.sql). */
export const AUDIT_LOG_FROM = 'audit_log JOIN audit_agent ON audit_agent.agent_id = audit_log.agent';

/** The columns a rendering needs (request_id stays in the log for correlation with the server logs). */
export const AUDIT_LOG_COLUMNS =
  'audit_log.id::text AS id, recorded, event, operation, action::text AS action, outcome, failure, client_id, user_system, user_value, ' +
  'user_name, user_role, user_reference, organization_system, organization_value, organization_reference, responsible_system, ' +
  'responsible_value, btg_reason, address, patients, resources, resource_type, query';

/** An HTTP status with the AuditEvent.outcome a status gives (audit-trail.ts outcomeOf). */
const STATUS_OF_OUTCOME: Readonly<Record<number, number>> = { 0: 200, 4: 400, 8: 500 };

function pair(system: string | null, value: string | null): TokenIdentifier | undefined {
  return system !== null && value !== null ? { system, value } : undefined;
}

function actingUser(row: AuditLogRow): ActingUser | undefined {
  const identifier = pair(row.user_system, row.user_value);
  const organization = pair(row.organization_system, row.organization_value);
  if (!identifier || !organization || row.user_role === null) {
    return undefined;
  }
  const responsible = pair(row.responsible_system, row.responsible_value);
  return {
    identifier,
    role: row.user_role,
    organization,
    ...(responsible ? { responsible } : {}),
    ...(row.user_name !== null ? { name: row.user_name } : {}),
  };
}

function principalOf(row: AuditLogRow): Principal | undefined {
  const user = actingUser(row);
  if (!user && row.btg_reason === null) {
    // A system client's record renders from the client id alone (audit-event.ts agents).
    return undefined;
  }
  return {
    kind: user ? 'user' : 'system',
    clientId: row.client_id ?? 'unknown',
    // Scopes are not part of the record; the rendering does not read them.
    scopes: ScopeSet.parse(''),
    ...(user ? { user } : {}),
    ...(row.user_reference !== null ? { practitionerRef: row.user_reference } : {}),
    ...(row.organization_reference !== null ? { organizationRef: row.organization_reference } : {}),
    ...(row.btg_reason !== null ? { emergency: { reason: row.btg_reason } } : {}),
  };
}

export function recordOf(row: AuditLogRow): AuditRecord {
  const principal = principalOf(row);
  return {
    event: row.event,
    action: row.action as AuditAction,
    recorded: new Date(row.recorded),
    principal,
    ...(principal === undefined && row.client_id !== null ? { claimedClient: row.client_id } : {}),
    address: row.address ?? undefined,
    ...(row.resource_type !== null ? { resourceType: row.resource_type } : {}),
    ...(row.operation !== null ? { operation: row.operation } : {}),
    status: STATUS_OF_OUTCOME[row.outcome] ?? 500,
    ...(row.failure !== null ? { failure: row.failure } : {}),
    entities: row.resources,
    patients: new Set(row.patients),
    ...(row.query !== null ? { query: row.query } : {}),
  };
}

/** The AuditEvent of a row. */
export function auditEventOf(row: AuditLogRow, site: string): AuditEvent {
  return toAuditEvent(recordOf(row), row.id, site);
}
