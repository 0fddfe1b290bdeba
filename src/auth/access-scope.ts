/**
 * Principal x request -> AccessScope: what a caller may see, as one SQL condition that every
 * read, vread, history, search (matches, chain targets, _has sources, includes, totals), criteria
 * match and reference check applies (narrowing in the SQL, never a post-filter).
 *
 * - Type: only resource types the token has a read or search scope for (scopes.ts).
 * - Patient: a user sees a resource only when every patient it belongs to (resource_patient) has
 *   a current care relation (care_relation) with the user's organisation, its PractitionerRoles or
 *   the user; resources of no patient (Organization, Practitioner, Questionnaire, …) are shared
 *   reference data. System clients and emergency access are bound by type only.
 * - Objection: a patient who objects to sharing with the user's organisation or the user
 *   (an active patient-privacy Consent with a deny provision, consent-denials.ts) is out of care
 *   for them, whatever relation they have; emergency access passes it, audited with its reason.
 * - Grant: a resource the user's organisation, role or self holds a read grant for (read_grant,
 *   006_referral_life.sql; read-grants.ts) is visible for reading whatever its patients: the
 *   former owner of a referral keeps its referral, Task and own contributions. Writes ignore it
 *   (`writeFilter`), so a grant never lets anyone change what they could not change before.
 *   A grant of notified pull (pull-grants.ts) holds only within its period (since, until).
 * - Subscription: a user sees only the Subscriptions they created (subscription-visibility.ts).
 * Resources outside the scope answer 404 like missing ones, so existence does not leak.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { AccessFilter } from '../repository/types.js';
import type { Queryable } from '../storage/database.js';
import { actorReferences } from './actors.js';
import { consentDenies } from './consent-denials.js';
import { directPatients, identifiedPatients } from './patients-of.js';
import type { Principal } from './principal.js';
import { EXPLICIT_ONLY_TYPES } from './scopes.js';
import { subscriptionOwned } from './subscription-visibility.js';

export interface AccessScope {
  readonly principal: Principal;
  /** References that act for the user in care relations (also under emergency access); empty for system principals. */
  readonly actors: readonly string[];
  /** True when patients narrow what this principal sees. */
  readonly byPatient: boolean;
  /** What reads, searches, includes and history may return. */
  readonly filter: AccessFilter;
  /** What writes may change or reference: `filter` without the read grants. */
  readonly writeFilter: AccessFilter;
}

function typeCondition(principal: Principal, alias: string, bind: (value: unknown) => string): string | undefined {
  const visible = principal.scopes.visibleTypes();
  if (visible.all) {
    return visible.except.length === 0 ? undefined : `${alias}.resource_type <> ALL(${bind(visible.except)}::text[])`;
  }
  return visible.types.length === 0 ? 'false' : `${alias}.resource_type = ANY(${bind(visible.types)}::text[])`;
}

/**
 * The condition that a read grant admits the row at `alias` to one of the actors. A patient's
 * objection outweighs a grant as it outweighs a care relation.
 */
export function granted(alias: string, actors: string): string {
  return `(EXISTS (SELECT 1 FROM read_grant g WHERE g.resource_type = ${alias}.resource_type AND g.id = ${alias}.id AND g.actor = ANY(${actors}::text[])
                   AND (g.since IS NULL OR g.since <= now()) AND (g.until IS NULL OR g.until > now()))
           AND NOT EXISTS (SELECT 1 FROM resource_patient q WHERE q.resource_type = ${alias}.resource_type AND q.id = ${alias}.id
                             AND ${consentDenies('q.patient_id', actors)}))`;
}

/**
 * The condition that a patient id (an SQL expression) is in the caller's care: a current care
 * relation with one of the actors, and no objection of the patient against them.
 */
export function inCare(patientId: string, actors: string, now = 'now()'): string {
  return `(EXISTS (SELECT 1 FROM care_relation c WHERE c.patient_id = ${patientId} AND c.actor = ANY(${actors}::text[])
            AND (c.until IS NULL OR c.until > ${now}))
           AND NOT ${consentDenies(patientId, actors, now)})`;
}

export async function accessScope(db: Queryable, principal: Principal): Promise<AccessScope> {
  const byPatient = principal.kind === 'user' && principal.emergency === undefined;
  // Emergency access does not narrow by patient, but the referral rules still need who acts.
  const actors = principal.kind === 'user' ? await actorReferences(db, principal.organizationRef, principal.practitionerRef) : [];
  const narrowing =
    (withGrants: boolean): AccessFilter =>
    ({ alias, bind }) => {
      const conditions = [typeCondition(principal, alias, bind), subscriptionOwned(alias, principal, bind)];
      if (byPatient) {
        const boundActors = bind(actors);
        const inRecord = `NOT EXISTS (SELECT 1 FROM resource_patient p WHERE p.resource_type = ${alias}.resource_type AND p.id = ${alias}.id
           AND NOT ${inCare('p.patient_id', boundActors)})`;
        conditions.push(withGrants ? `${inRecord} OR ${granted(alias, boundActors)}` : inRecord);
      }
      const list = conditions.filter((c): c is string => c !== undefined);
      return list.length === 0 ? undefined : list.map((c) => `(${c})`).join(' AND ');
    };
  const filter = narrowing(true);
  const writeFilter = narrowing(false);
  return { principal, actors, byPatient, filter, writeFilter };
}

/** Whether a principal may see rows of this type at all. */
export function typeVisible(principal: Principal, type: string): boolean {
  return principal.scopes.allows(type, 'r') || principal.scopes.allows(type, 's');
}

/**
 * The second fence: re-checks resources about to be returned against the rule, independently of
 * the SQL that found them: the type is visible and every patient the resource names directly (by
 * id, or by identifier as the write resolved it) is in care. Answers the ones that fail (which the
 * caller drops and reports as a defect). The audit log is exempt: whoever may read it reads all of
 * it. The type rule is about stored resources: an answer an operation computes (no id, such as
 * $evaluate-measure's MeasureReport) is what the operation, authorized on its own type, produces,
 * so only its patients are checked.
 */
export async function recheck(db: Queryable, scope: AccessScope, resources: readonly Resource[]): Promise<Set<Resource>> {
  const failed = new Set<Resource>();
  const patients = new Map<Resource, string[]>();
  for (const resource of resources) {
    if (resource.id !== undefined && !typeVisible(scope.principal, resource.resourceType)) {
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
    `SELECT x.id AS patient_id FROM unnest($1::text[]) AS x(id) WHERE ${inCare('x.id', '$2')}`,
    [ids, scope.actors]
  );
  const inCareIds = new Set(rows.map((r) => r.patient_id));
  const outside = [...patients].filter(([, ids]) => ids.some((id) => !inCareIds.has(id))).map(([resource]) => resource);
  const grants = await grantedKeys(db, scope, outside);
  for (const resource of outside) {
    if (!grants.has(`${resource.resourceType}/${resource.id ?? ''}`)) {
      failed.add(resource);
    }
  }
  return failed;
}

/** `Type/id` of the resources a read grant admits to the scope's actors. */
async function grantedKeys(db: Queryable, scope: AccessScope, resources: readonly Resource[]): Promise<Set<string>> {
  if (resources.length === 0) {
    return new Set();
  }
  const rows = await db.query<{ resource_type: string; id: string }>(
    `SELECT t.resource_type, t.id FROM unnest($1::text[], $2::text[]) AS t(resource_type, id) WHERE ${granted('t', '$3')}`,
    [resources.map((r) => r.resourceType), resources.map((r) => r.id ?? ''), scope.actors]
  );
  return new Set(rows.map((r) => `${r.resource_type}/${r.id}`));
}
