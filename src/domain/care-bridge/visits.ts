/**
 * Visits that count against a care plan's limits (docs/care-workflows.md): a Procedure based on the CarePlan (or
 * on the ServiceRequest of one of its activities), or an Encounter based on such a ServiceRequest
 * (R4 Encounter.basedOn may only point at a ServiceRequest). A visit counts when it happened or is
 * happening: Procedure in-progress or completed; Encounter arrived, triaged, in-progress, onleave or
 * finished. Planned, cancelled and entered-in-error visits do not use up a session.
 */
import type { CodeableConcept, Encounter, Procedure, Resource } from '@medplum/fhirtypes';
import { parseLocalReference } from '../../fhir/references.js';
import { dateOnly } from './dates.js';

export interface Visit {
  /** `Procedure/{id}` or `Encounter/{id}`. */
  readonly reference: string;
  /** When it took place (the start of a period), as written. */
  readonly date: string | undefined;
  /** Local `Type/id` references of basedOn. */
  readonly basedOn: readonly string[];
  readonly code: CodeableConcept | undefined;
  readonly counts: boolean;
}

const COUNTED_PROCEDURE: ReadonlySet<string> = new Set(['in-progress', 'completed']);
const COUNTED_ENCOUNTER: ReadonlySet<string> = new Set(['arrived', 'triaged', 'in-progress', 'onleave', 'finished']);

export const VISIT_TYPES = ['Procedure', 'Encounter'] as const;

function localReferences(references: ReadonlyArray<{ reference?: string }> | undefined, baseUrl?: string): string[] {
  return (references ?? [])
    .map((r) => (r.reference === undefined ? undefined : parseLocalReference(r.reference, baseUrl)))
    .filter((r) => r !== undefined)
    .map((r) => `${r.resourceType}/${r.id}`);
}

/** The resource as a visit; undefined for anything that is not a Procedure or Encounter. */
export function visitOf(resource: Resource, baseUrl?: string): Visit | undefined {
  if (resource.resourceType === 'Procedure') {
    const p: Procedure = resource;
    return {
      reference: `Procedure/${p.id as string}`,
      date: p.performedDateTime ?? p.performedPeriod?.start ?? p.performedPeriod?.end,
      basedOn: localReferences(p.basedOn, baseUrl),
      code: p.code,
      counts: COUNTED_PROCEDURE.has(p.status),
    };
  }
  if (resource.resourceType === 'Encounter') {
    const e: Encounter = resource;
    return {
      reference: `Encounter/${e.id as string}`,
      date: e.period?.start ?? e.period?.end,
      basedOn: localReferences(e.basedOn, baseUrl),
      code: e.type?.[0] ?? e.serviceType,
      counts: COUNTED_ENCOUNTER.has(e.status),
    };
  }
  return undefined;
}

/** Orders visits by day, then by reference, so ranks are stable. */
export function byDate(a: Visit, b: Visit): number {
  const da = dateOnly(a.date) ?? '9999-12-31';
  const db = dateOnly(b.date) ?? '9999-12-31';
  return da < db ? -1 : da > db ? 1 : (a.date ?? '').localeCompare(b.date ?? '') || a.reference.localeCompare(b.reference);
}
