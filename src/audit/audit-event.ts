/**
 * An AuditRecord as an R4 AuditEvent (https://hl7.org/fhir/R4/auditevent.html), with the fields
 * NEN 7513 requires mapped onto it:
 *   event    type (rest, or DICOM 110114 User Authentication), subtype (the interaction), action,
 *            recorded, outcome (0 / 4 minor / 8 serious failure) and outcomeDesc (issue code);
 *   user     agent[requestor]: the professional (UZI/BIG/AGB) with role and network address, or
 *            the client system for system tokens; agent: the responsible user, the organisation
 *            (URA/AGB), the client system;
 *   object   entity: each patient (role 1), each resource read or written (role 4, exact version),
 *            the query of a search (role 24, base64 as the element requires);
 *   source   this server (security-source-type 4, application server).
 * Emergency access carries purposeOfEvent BTG with the reason and a BTG security label, which
 * is what the break-the-glass report searches for.
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding } from '@medplum/fhirtypes';
import type { TokenIdentifier } from '../auth/principal.js';
import { BREAK_THE_GLASS } from '../auth/token-endpoint.js';
import type { AuditRecord } from './audit-record.js';

export const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const CLIENT_ID_SYSTEM = 'urn:ietf:params:oauth:client-id';
export const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const ROLE_TYPE = 'http://terminology.hl7.org/CodeSystem/extra-security-role-type';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';

/** restful-interaction codes (https://hl7.org/fhir/R4/valueset-type-restful-interaction.html). */
export const SUBTYPE: Readonly<Record<string, string>> = {
  'conditional-update': 'update',
  'conditional-patch': 'patch',
  'conditional-delete': 'delete',
  'search-compartment': 'search-type',
  'batch-transaction': 'transaction',
};

function identifier(value: TokenIdentifier): { system: string; value: string } {
  return { system: value.system, value: value.value };
}

function roleCoding(role: string): Coding {
  const bar = role.lastIndexOf('|');
  return bar === -1 ? { code: role } : { system: role.slice(0, bar), code: role.slice(bar + 1) };
}

function agents(record: AuditRecord): AuditEventAgent[] {
  const network = record.address === undefined ? {} : { network: { address: record.address, type: '2' as const } };
  const principal = record.principal;
  const client: AuditEventAgent = {
    type: { coding: [{ system: DCM, code: '110150', display: 'Application' }] },
    who: { identifier: { system: CLIENT_ID_SYSTEM, value: principal?.clientId ?? record.claimedClient ?? 'unknown' } },
    requestor: principal?.user === undefined,
    ...(principal?.user === undefined ? network : {}),
  };
  const user = principal?.user;
  if (!user) {
    return [client];
  }
  const list: AuditEventAgent[] = [
    {
      type: { coding: [{ system: ROLE_TYPE, code: 'humanuser', display: 'human user' }] },
      who: { ...(principal.practitionerRef ? { reference: principal.practitionerRef } : {}), identifier: identifier(user.identifier) },
      ...(user.name !== undefined ? { name: user.name } : {}),
      role: [{ coding: [roleCoding(user.role)] }],
      requestor: true,
      ...network,
      ...(principal.emergency ? { purposeOfUse: [{ coding: [{ system: ACT_REASON, code: BREAK_THE_GLASS }], text: principal.emergency.reason }] } : {}),
    },
  ];
  if (user.responsible) {
    list.push({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'RESP', display: 'responsible party' }] },
      who: { identifier: identifier(user.responsible) },
      requestor: false,
    });
  }
  list.push({
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleClass', code: 'PROV', display: 'healthcare provider' }] },
    who: { ...(principal.organizationRef ? { reference: principal.organizationRef } : {}), identifier: identifier(user.organization) },
    requestor: false,
  });
  list.push(client);
  return list;
}

function entities(record: AuditRecord): AuditEventEntity[] {
  const list: AuditEventEntity[] = [...record.patients].map((id) => ({
    what: { reference: `Patient/${id}` },
    type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
    role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
  }));
  for (const reference of record.entities) {
    list.push({
      what: { reference },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
    });
  }
  if (record.query !== undefined) {
    list.push({
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
      ...(record.resourceType !== undefined ? { name: record.resourceType } : {}),
      query: Buffer.from(record.query, 'utf8').toString('base64'),
    });
  }
  return list;
}

/** The AuditEvent for a record, with the id it will be stored under. */
export function toAuditEvent(record: AuditRecord, id: string, site: string): AuditEvent {
  const login = record.event === 'login';
  const emergency = record.principal?.emergency;
  const outcome = record.status >= 500 ? '8' : record.status >= 400 ? '4' : '0';
  const subtype: Coding[] = login
    ? [{ system: DCM, code: '110122', display: 'Login' }]
    : [{ system: 'http://hl7.org/fhir/restful-interaction', code: SUBTYPE[record.event] ?? record.event }];
  if (record.operation !== undefined) {
    subtype.push({ system: 'http://hl7.org/fhir/OperationDefinition', code: record.operation });
  }
  return {
    resourceType: 'AuditEvent',
    id,
    meta: {
      versionId: '1',
      lastUpdated: record.recorded.toISOString(),
      ...(emergency ? { security: [{ system: ACT_REASON, code: BREAK_THE_GLASS, display: 'break the glass' }] } : {}),
    },
    type: login
      ? { system: DCM, code: '110114', display: 'User Authentication' }
      : { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype,
    action: record.action,
    recorded: record.recorded.toISOString(),
    outcome,
    ...(record.failure !== undefined ? { outcomeDesc: record.failure } : {}),
    ...(emergency ? { purposeOfEvent: [{ coding: [{ system: ACT_REASON, code: BREAK_THE_GLASS }], text: emergency.reason }] } : {}),
    agent: agents(record),
    source: {
      site,
      observer: { display: 'Schakel' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: entities(record),
  };
}
