/**
 * Principal x request -> AccessScope: what a caller may see, as one SQL condition that every
 * read, vread, history, search (matches, chain targets, _has sources, includes, totals), criteria
 * match and reference check applies (narrowing in the SQL, never a post-filter; ARCHITECTURE.md).
 *
 * - Type: only resource types the token has a read or search scope for (scopes.ts).
 * - Patient: a user sees a resource only when every patient it belongs to (resource_patient) has
 *   a current care relation (care_relation) with the user's organisation, its PractitionerRoles or
 *   the user; resources of no patient (Organization, Practitioner, Questionnaire, …) are shared
 *   reference data. System clients and emergency access are bound by type only.
 * Resources outside the scope answer 404 like missing ones, so existence does not leak.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { AccessFilter } from '../repository/types.js';
import type { Queryable } from '../storage/database.js';
import { actorReferences } from './actors.js';
import { directPatients, identifiedPatients } from './patients-of.js';
import type { Principal } from './principal.js';
import { EXPLICIT_ONLY_TYPES } from './scopes.js';

export interface AccessScope {
  readonly principal: Principal;
  /** References that act for the user in care relations (also under emergency access); empty for system principals. */
  readonly actors: readonly string[];
  /** True when patients narrow what this principal sees. */
  readonly byPatient: boolean;
  readonly filter: AccessFilter;
}

function typeCondition(principal: Principal, alias: string, bind: (value: unknown) => string): string | undefined {
  const visible = principal.scopes.visibleTypes();
  if (visible.all) {
    return visible.except.length === 0 ? undefined : `${alias}.resource_type <> ALL(${bind(visible.except)}::text[])`;
  }
  return visible.types.length === 0 ? 'false' : `${alias}.resource_type = ANY(${bind(visible.types)}::text[])`;
}

/** The condition that a patient id (an SQL expression) is in the caller's care. */
export function inCare(patientId: string, actors: string, now = 'now()'): string {
  return `EXISTS (SELECT 1 FROM care_relation c WHERE c.patient_id = ${patientId} AND c.actor = ANY(${actors}::text[])
            AND (c.until IS NULL OR c.until > ${now}))`;
}

export async function accessScope(db: Queryable, principal: Principal): Promise<AccessScope> {
  const byPatient = principal.kind === 'user' && principal.emergency === undefined;
  // Emergency access does not narrow by patient, but the referral rules still need who acts.
  const actors = principal.kind === 'user' ? await actorReferences(db, principal.organizationRef, principal.practitionerRef) : [];
  const filter: AccessFilter = ({ alias, bind }) => {
    const conditions = [typeCondition(principal, alias, bind)];
    if (byPatient) {
      conditions.push(
        `NOT EXISTS (SELECT 1 FROM resource_patient p WHERE p.resource_type = ${alias}.resource_type AND p.id = ${alias}.id
           AND NOT ${inCare('p.patient_id', bind(actors))})`
      );
    }
    const list = conditions.filter((c): c is string => c !== undefined);
    return list.length === 0 ? undefined : list.map((c) => `(${c})`).join(' AND ');
  };
  return { principal, actors, byPatient, filter };
}

/** Whether a principal may see rows of this type at all. */
export function typeVisible(principal: Principal, type: string): boolean {
  return principal.scopes.allows(type, 'r') || principal.scopes.allows(type, 's');
}

/**
 * The second fence: re-checks resources about to be returned against the rule, independently of
 * the SQL that found them: the type is visible and every patient the resource names directly (by
 * id, or by identifier as the write resolved it) is in care. Answers the ones that fail (which the
 * caller drops and reports as a defect). The audit log is exempt: whoever may read it reads all of it.
 */
export async function recheck(db: Queryable, scope: AccessScope, resources: readonly Resource[]): Promise<Set<Resource>> {
  const failed = new Set<Resource>();
  const patients = new Map<Resource, string[]>();
  for (const resource of resources) {
    if (!typeVisible(scope.principal, resource.resourceType)) {
      failed.add(resource);
    } else if (scope.byPatient && !EXPLICIT_ONLY_TYPES.has(resource.resourceType)) {
      patients.set(resource, directPatients(resource));
    }
  }
  for (const [resource, ids] of await identifiedPatients(db, [...patients.keys()])) {
    patients.set(resource, [...new Set([...(patients.get(resource) ?? []), ...ids])]);
  }
  const ids = [...new Set([...patients.values()].flat())];
  if (ids.length === 0) {
    return failed;
  }
  const rows = await db.query<{ patient_id: string }>(
    `SELECT DISTINCT c.patient_id FROM care_relation c
      WHERE c.patient_id = ANY($1::text[]) AND c.actor = ANY($2::text[]) AND (c.until IS NULL OR c.until > now())`,
    [ids, scope.actors]
  );
  const inCareIds = new Set(rows.map((r) => r.patient_id));
  for (const [resource, ids] of patients) {
    if (ids.some((id) => !inCareIds.has(id))) {
      failed.add(resource);
    }
  }
  return failed;
}
