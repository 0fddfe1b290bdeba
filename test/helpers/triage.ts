/**
 * Synthetic Pain Triages (profiles/pain-triage.json) for the triage tests, on the world of
 * test/helpers/care.ts plus a rehabilitation physician's role (`rehab`, role code 01.042).
 */
import type { TestApp } from './app.js';
import { ROLE, SD, write } from './care.js';
import type { Json } from './search.js';

export const TRIAGE = 'http://schakel.nl/fhir/CodeSystem/pain-triage';
export const WPN = 'http://schakel.nl/fhir/CodeSystem/wpn-level';

export async function addRehabPhysician(app: TestApp): Promise<void> {
  await write(app, { resourceType: 'Practitioner', id: 'rehab', name: [{ family: 'de Vries' }] });
  await write(app, {
    resourceType: 'PractitionerRole',
    id: 'rehab',
    active: true,
    practitioner: { reference: 'Practitioner/rehab' },
    organization: { reference: 'Organization/org-1' },
    code: [{ coding: [{ system: ROLE, code: '01.042', display: 'Revalidatiearts' }] }],
  });
}

export interface TriageContent {
  /** WPN level code; undefined leaves the component out. */
  wpn?: string | undefined;
  professionals?: boolean | undefined;
  disciplines?: Array<{ system: string; code: string }>;
  education?: boolean | undefined;
  activities?: boolean | undefined;
  decision?: string | undefined;
  reason?: string | undefined;
  /** The deviation extension's sub-extensions, as given. */
  deviation?: Json[];
}

const component = (code: string, value: Json) => ({ code: { coding: [{ system: TRIAGE, code }] }, ...value });

/** A triage that shows primary care was tried and accepts for outpatient IMSR, unless `content` says otherwise. */
export function painTriage(referralId: string, content: TriageContent = {}, overrides: Json = {}): Json {
  const c: TriageContent = {
    wpn: '3',
    professionals: true,
    disciplines: [{ system: ROLE, code: '04.000' }],
    education: true,
    activities: true,
    decision: 'imsr-outpatient',
    reason: 'Eerstelijns behandeling volledig benut',
    ...content,
  };
  const components = [
    ...(c.wpn === undefined ? [] : [component('wpn-level', { valueCodeableConcept: { coding: [{ system: WPN, code: c.wpn }] } })]),
    ...(c.professionals === undefined ? [] : [component('professionals-involved', { valueBoolean: c.professionals })]),
    ...(c.disciplines ?? []).map((d) => component('discipline-involved', { valueCodeableConcept: { coding: [d] } })),
    ...(c.education === undefined ? [] : [component('pain-education', { valueBoolean: c.education })]),
    ...(c.activities === undefined ? [] : [component('activities-participation', { valueBoolean: c.activities })]),
    ...(c.decision === undefined ? [] : [component('decision', { valueCodeableConcept: { coding: [{ system: TRIAGE, code: c.decision }] } })]),
    ...(c.reason === undefined ? [] : [component('decision-reason', { valueString: c.reason })]),
  ];
  return {
    resourceType: 'Observation',
    meta: { profile: [`${SD}pain-triage`] },
    ...(c.deviation ? { extension: [{ url: `${SD}triage-deviation`, extension: c.deviation }] } : {}),
    status: 'final',
    basedOn: [{ reference: `ServiceRequest/${referralId}` }],
    code: { coding: [{ system: TRIAGE, code: 'triage' }] },
    subject: { reference: 'Patient/pat-1' },
    effectiveDateTime: '2026-10-15T10:00:00+02:00',
    performer: [{ reference: 'PractitionerRole/rehab' }],
    component: components,
    ...overrides,
  };
}

/** The deviation sub-extensions: deviates, and a reason unless undefined. */
export function deviation(reason: string | undefined, teamAdvice = 'refer-back'): Json[] {
  return [
    { url: 'deviates', valueBoolean: true },
    ...(reason === undefined ? [] : [{ url: 'reason', valueString: reason }]),
    { url: 'teamAdvice', valueCodeableConcept: { coding: [{ system: TRIAGE, code: teamAdvice }] } },
  ];
}
