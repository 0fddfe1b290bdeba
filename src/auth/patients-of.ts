/**
 * Which patients a resource belongs to, the unit of need-to-know (docs/security.md): a Patient is its own,
 * any other resource belongs to every Patient it references, anywhere in its content. That is a
 * superset of the Patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html),
 * on purpose: a patient reference in an extension or a note is as much patient data as a subject.
 * A resource that references no patient inherits the patients of what it references (one hop:
 * a Provenance its target's, a Communication its ServiceRequest's); see care-relations.ts.
 */
import type { Resource } from '@medplum/fhirtypes';
import { identifierReferences } from '../fhir/identifier-references.js';
import { collectReferences, parseLocalReference } from '../fhir/references.js';
import type { Queryable } from '../storage/database.js';

/** Ids of the Patients a resource references directly (itself, for a Patient). */
export function directPatients(resource: Resource, baseUrl?: string): string[] {
  if (resource.resourceType === 'Patient') {
    return resource.id === undefined ? [] : [resource.id];
  }
  const ids = new Set<string>();
  for (const { reference, path } of collectReferences(resource, resource.resourceType)) {
    // A stored Bundle's entries are documents of their own, not this resource's references.
    if (resource.resourceType === 'Bundle' && path.startsWith('Bundle.entry[')) {
      continue;
    }
    const local = parseLocalReference(reference, baseUrl);
    if (local?.resourceType === 'Patient') {
      ids.add(local.id);
    }
  }
  return [...ids];
}

/** Local `Type/id` targets of a resource that are not Patients (for inheriting patients). */
export function otherTargets(resource: Resource, baseUrl?: string): Array<{ resourceType: string; id: string }> {
  const seen = new Map<string, { resourceType: string; id: string }>();
  for (const { reference } of collectReferences(resource, resource.resourceType)) {
    const local = parseLocalReference(reference, baseUrl);
    if (local && local.resourceType !== 'Patient' && !(local.resourceType === resource.resourceType && local.id === resource.id)) {
      seen.set(`${local.resourceType}/${local.id}`, { resourceType: local.resourceType, id: local.id });
    }
  }
  return [...seen.values()];
}

/**
 * The patients of stored resources that reference someone by identifier only, as the write
 * recorded them in resource_patient (the content alone does not say who a BSN is; one query).
 * Resources without such references are not looked up: directPatients answers for them.
 */
export async function identifiedPatients(db: Queryable, resources: readonly Resource[]): Promise<Map<Resource, string[]>> {
  const result = new Map<Resource, string[]>();
  const wanted = resources.filter((r) => r.id !== undefined && r.resourceType !== 'Patient' && identifierReferences(r).length > 0);
  if (wanted.length === 0) {
    return result;
  }
  const recorded = await recordedPatients(db, wanted.map((r) => ({ resourceType: r.resourceType, id: r.id ?? '' })));
  for (const resource of wanted) {
    result.set(resource, recorded.get(`${resource.resourceType}/${resource.id ?? ''}`) ?? []);
  }
  return result;
}

/** The patients resource_patient records for stored resources, by `Type/id` (one query). */
export async function recordedPatients(db: Queryable, targets: ReadonlyArray<{ resourceType: string; id: string }>): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  if (targets.length === 0) {
    return result;
  }
  const rows = await db.query<{ resource_type: string; id: string; patient_id: string }>(
    `SELECT p.resource_type, p.id, p.patient_id FROM resource_patient p
       JOIN unnest($1::text[], $2::text[]) AS t(resource_type, id) ON p.resource_type = t.resource_type AND p.id = t.id`,
    [targets.map((t) => t.resourceType), targets.map((t) => t.id)]
  );
  for (const row of rows) {
    const key = `${row.resource_type}/${row.id}`;
    result.set(key, [...(result.get(key) ?? []), row.patient_id]);
  }
  return result;
}
