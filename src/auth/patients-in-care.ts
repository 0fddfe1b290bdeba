/**
 * The patients a professional may pick for a standalone SMART launch (`launch/patient`,
 * https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token):
 * exactly those the care-relationship narrowing lets them see (access-scope.ts inCare: a current
 * care relation with their organisation, its roles or themselves, and no objection of the patient).
 */
import type { HumanName, Patient } from '@medplum/fhirtypes';
import type { Queryable } from '../storage/database.js';
import { inCare } from './access-scope.js';
import { actorReferences } from './actors.js';
import type { Principal } from './principal.js';

/** The list on the pick page stays short; a professional with more patients searches in the app. */
const MAX_LISTED = 100;

export interface PatientChoice {
  readonly id: string;
  readonly display: string;
}

function display(id: string, content: string | null): string {
  const patient = content === null ? undefined : (JSON.parse(content) as Patient);
  const name: HumanName | undefined = patient?.name?.find((n) => n.use === 'official') ?? patient?.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family].filter((p) => p !== undefined && p !== '').join(' ');
  const born = patient?.birthDate === undefined ? '' : ` (${patient.birthDate})`;
  return `${text === '' ? id : text}${born}`;
}

/** The patients in the user's care, by name. */
export async function patientsInCare(db: Queryable, principal: Principal): Promise<PatientChoice[]> {
  const actors = await actorReferences(db, principal.organizationRef, principal.practitionerRef);
  if (actors.length === 0) {
    return [];
  }
  const rows = await db.query<{ id: string; content: string | null }>(
    `SELECT r.id, r.content FROM resource r
      WHERE r.resource_type = 'Patient' AND NOT r.deleted AND ${inCare('r.id', '$1')}
      ORDER BY r.id LIMIT ${MAX_LISTED}`,
    [actors]
  );
  return rows.map((row) => ({ id: row.id, display: display(row.id, row.content) })).sort((a, b) => a.display.localeCompare(b.display, 'nl'));
}

/** Whether one patient is in the user's care (the pick is checked again on submit). */
export async function isInCare(db: Queryable, principal: Principal, patientId: string): Promise<boolean> {
  const actors = await actorReferences(db, principal.organizationRef, principal.practitionerRef);
  if (actors.length === 0) {
    return false;
  }
  const rows = await db.query<{ id: string }>(
    `SELECT r.id FROM resource r WHERE r.resource_type = 'Patient' AND r.id = $2 AND NOT r.deleted AND ${inCare('r.id', '$1')}`,
    [actors, patientId]
  );
  return rows.length === 1;
}

/** Whether a resource exists now (a launch names a real Patient and Encounter). */
export async function resourceExists(db: Queryable, type: 'Patient' | 'Encounter', id: string): Promise<boolean> {
  const rows = await db.query<{ id: string }>(`SELECT id FROM resource WHERE resource_type = $1 AND id = $2 AND NOT deleted`, [type, id]);
  return rows.length === 1;
}
