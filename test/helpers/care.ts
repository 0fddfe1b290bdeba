/**
 * Synthetic care-workflow data for the tests of the care workflows: a small world of organisations,
 * professionals in roles (with their discipline as RoleCodeNL code) and patients, and builders for
 * resources that conform to each profile. Tests change one element to break one rule.
 */
import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import type { TestApp } from './app.js';
import { issuesOf } from './outcome.js';
import type { Json } from './search.js';

export const SD = 'http://schakel.nl/fhir/StructureDefinition/';
export const SCT = 'http://snomed.info/sct';
export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const ROLE = 'urn:oid:2.16.840.1.113883.2.4.15.111';
export const BSN_SYSTEM = 'http://fhir.nl/fhir/NamingSystem/bsn';
export const FLAGS = 'http://schakel.nl/fhir/CodeSystem/care-plan-progress';

export const PATIENT_BSN = '999911120';
export const OTHER_BSN = '999900018';

const role = (id: string, code: string, display: string, where: 'code' | 'specialty' = 'code') => ({
  resourceType: 'PractitionerRole',
  id,
  active: true,
  practitioner: { reference: `Practitioner/${id}` },
  organization: { reference: 'Organization/org-1' },
  [where]: [{ coding: [{ system: ROLE, code, display }] }],
});

/** The resources every care test starts from, as one transaction Bundle. */
export function worldBundle(): Json {
  const resources = [
    { resourceType: 'Organization', id: 'org-1', name: 'Gezondheidscentrum Test' },
    ...['gp', 'physio', 'nurse', 'physio2'].map((id) => ({ resourceType: 'Practitioner', id, name: [{ family: id }] })),
    role('gp', '01.015', 'Huisarts'),
    role('physio', '04.000', 'Fysiotherapeut'),
    role('nurse', '30.000', 'Verpleegkundige'),
    // A physiotherapist whose system puts the discipline in specialty rather than code.
    role('physio2', '04.000', 'Fysiotherapeut', 'specialty'),
    { resourceType: 'Patient', id: 'pat-1', identifier: [{ system: BSN_SYSTEM, value: PATIENT_BSN }], name: [{ family: 'Jansen' }] },
    { resourceType: 'Patient', id: 'pat-2', identifier: [{ system: BSN_SYSTEM, value: OTHER_BSN }], name: [{ family: 'Bakker' }] },
    { resourceType: 'CareTeam', id: 'team-1', status: 'active', subject: { reference: 'Patient/pat-1' }, participant: [{ member: { reference: 'PractitionerRole/physio' } }, { member: { reference: 'PractitionerRole/nurse' } }] },
    { resourceType: 'Goal', id: 'goal-1', lifecycleStatus: 'active', description: { text: 'Veilig thuis bewegen' }, subject: { reference: 'Patient/pat-1' } },
  ];
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } })),
  };
}

export async function loadWorld(app: TestApp): Promise<void> {
  const response = await app.request({ method: 'POST', url: '/fhir', body: worldBundle() });
  if (response.statusCode !== 200) {
    throw new Error(`world did not load: ${response.statusCode} ${response.body}`);
  }
}

const concept = (system: string, code: string, text?: string) => ({ coding: [{ system, code }], ...(text ? { text } : {}) });

export function referral(overrides: Json = {}): Json {
  return {
    resourceType: 'ServiceRequest',
    meta: { profile: [`${SD}referral`] },
    status: 'active',
    intent: 'order',
    category: [concept(SCT, '3457005', 'Verwijzing')],
    priority: 'routine',
    subject: { reference: 'Patient/pat-1', identifier: { system: BSN_SYSTEM, value: PATIENT_BSN } },
    authoredOn: '2026-10-01T09:00:00+02:00',
    requester: { reference: 'PractitionerRole/gp' },
    performerType: concept(ROLE, '04.000', 'Fysiotherapeut'),
    performer: [{ reference: 'PractitionerRole/physio' }],
    reasonCode: [concept(SCT, '279039007', 'Lage rugpijn')],
    ...overrides,
  };
}

export function referralTask(referralId: string, overrides: Json = {}): Json {
  return {
    resourceType: 'Task',
    meta: { profile: [`${SD}referral-task`] },
    status: 'requested',
    intent: 'order',
    focus: { reference: `ServiceRequest/${referralId}` },
    for: { reference: 'Patient/pat-1' },
    authoredOn: '2026-10-01T09:00:00+02:00',
    requester: { reference: 'PractitionerRole/gp' },
    ...overrides,
  };
}

export function feedback(referralId: string, overrides: Json = {}): Json {
  return {
    resourceType: 'Communication',
    meta: { profile: [`${SD}feedback`] },
    basedOn: [{ reference: `ServiceRequest/${referralId}` }],
    status: 'completed',
    subject: { reference: 'Patient/pat-1' },
    sent: '2026-11-01T16:00:00+01:00',
    recipient: [{ reference: 'PractitionerRole/gp' }],
    sender: { reference: 'PractitionerRole/physio' },
    payload: [{ contentString: 'Behandeling afgerond; klachten verdwenen.' }],
    ...overrides,
  };
}

export const feedbackOutput = (communicationId: string) => [
  { type: concept(LOINC, '11488-4', 'Terugkoppeling'), valueReference: { reference: `Communication/${communicationId}` } },
];

export function physioActivity(count: number | undefined = 9, overrides: Json = {}): Json {
  return {
    detail: {
      code: concept(SCT, '91251008', 'Fysiotherapie'),
      status: 'in-progress',
      performer: [{ reference: 'PractitionerRole/physio' }],
      ...(count === undefined ? {} : { scheduledTiming: { repeat: { count } } }),
      ...overrides,
    },
  };
}

export function homeVisitActivity(count: number | undefined = 4, countMax: number | undefined = 5): Json {
  const repeat = { ...(count === undefined ? {} : { count }), ...(countMax === undefined ? {} : { countMax }) };
  return {
    detail: {
      code: concept(SCT, '439708006', 'Huisbezoek'),
      status: 'in-progress',
      performer: [{ reference: 'PractitionerRole/nurse' }],
      ...(Object.keys(repeat).length > 0 ? { scheduledTiming: { repeat } } : {}),
    },
  };
}

export function sharedCarePlan(overrides: Json = {}): Json {
  return {
    resourceType: 'CarePlan',
    meta: { profile: [`${SD}shared-careplan`] },
    status: 'active',
    intent: 'plan',
    subject: { reference: 'Patient/pat-1' },
    period: { start: '2026-09-01' },
    author: { reference: 'PractitionerRole/gp' },
    careTeam: [{ reference: 'CareTeam/team-1' }],
    goal: [{ reference: 'Goal/goal-1' }],
    activity: [physioActivity()],
    ...overrides,
  };
}

export function careBridgePlan(overrides: Json = {}): Json {
  return sharedCarePlan({
    meta: { profile: [`${SD}care-bridge-careplan`] },
    extension: [{ url: `${SD}discharge-date`, valueDate: '2026-09-01' }],
    category: [concept('http://schakel.nl/fhir/CodeSystem/care-programme', 'cardiac-care-bridge', 'Cardiologische Zorgbrug')],
    period: { start: '2026-09-01', end: '2026-11-24' },
    activity: [physioActivity(9), homeVisitActivity(4, 5)],
    ...overrides,
  });
}

/** A visit recorded as a Procedure based on a plan. */
export function visit(planId: string, kind: 'physio' | 'nurse', date: string, overrides: Json = {}): Json {
  const code = kind === 'physio' ? concept(SCT, '91251008', 'Fysiotherapie') : concept(SCT, '439708006', 'Huisbezoek');
  return {
    resourceType: 'Procedure',
    basedOn: [{ reference: `CarePlan/${planId}` }],
    status: 'completed',
    code,
    subject: { reference: 'Patient/pat-1' },
    performedDateTime: `${date}T10:00:00+02:00`,
    performer: [{ actor: { reference: `PractitionerRole/${kind}` } }],
    ...overrides,
  };
}

const quantity = (value: number, code: string) => ({ value, unit: code, system: UCUM, code });
const category = (code: string) => [concept('http://terminology.hl7.org/CodeSystem/observation-category', code)];

function logbookObservation(profile: string, overrides: Json): Json {
  return {
    resourceType: 'Observation',
    meta: { profile: [`${SD}${profile}`] },
    status: 'final',
    subject: { reference: 'Patient/pat-1' },
    effectiveDateTime: '2026-09-10T10:00:00+02:00',
    performer: [{ reference: 'PractitionerRole/nurse' }],
    ...overrides,
  };
}

export function bloodPressure(systolic = 128, diastolic = 76, overrides: Json = {}): Json {
  return logbookObservation('logbook-blood-pressure', {
    category: category('vital-signs'),
    code: concept(LOINC, '85354-9', 'Bloeddruk'),
    component: [
      { code: concept(LOINC, '8480-6'), valueQuantity: quantity(systolic, 'mm[Hg]') },
      { code: concept(LOINC, '8462-4'), valueQuantity: quantity(diastolic, 'mm[Hg]') },
    ],
    ...overrides,
  });
}

export const heartRate = (value = 72, overrides: Json = {}): Json =>
  logbookObservation('logbook-heart-rate', { category: category('vital-signs'), code: concept(LOINC, '8867-4'), valueQuantity: quantity(value, '/min'), ...overrides });
export const bodyWeight = (value = 78.4, overrides: Json = {}): Json =>
  logbookObservation('logbook-body-weight', { category: category('vital-signs'), code: concept(LOINC, '29463-7'), valueQuantity: quantity(value, 'kg'), ...overrides });
export const handGrip = (value = 24, overrides: Json = {}): Json =>
  logbookObservation('logbook-hand-grip', { category: category('exam'), code: concept(LOINC, '83174-3'), valueQuantity: quantity(value, 'kg'), performer: [{ reference: 'PractitionerRole/physio' }], ...overrides });
export const stepTest = (value = 48, overrides: Json = {}): Json =>
  logbookObservation('logbook-step-test', {
    category: category('exam'),
    code: concept('http://schakel.nl/fhir/CodeSystem/logbook-measurement', 'two-minute-step-test'),
    valueQuantity: quantity(value, '{steps}'),
    performer: [{ reference: 'PractitionerRole/physio' }],
    ...overrides,
  });

/** 422 with an `invariant` error for constraint `key` at `expression` (details.coding carries the key). */
export function assertInvariant(t: Test, response: LightMyRequestResponse, key: string, expression: string): void {
  t.equal(response.statusCode, 422, `${key}: status 422`);
  const issues = issuesOf(response) as Array<{ severity: string; code: string; expression?: string[]; details?: { coding?: Array<{ code: string }> } }>;
  const found = issues.some(
    (i) => i.severity === 'error' && i.code === 'invariant' && (i.expression ?? []).includes(expression) && (i.details?.coding ?? []).some((c) => c.code === key)
  );
  t.ok(found, `invariant ${key} at ${expression}; got ${JSON.stringify(issues.map((i) => [i.code, i.expression, i.details?.coding?.map((c) => c.code)]))}`);
}

/** Creates a resource (PUT when it has an id) and answers the stored resource; throws otherwise. */
export async function write(app: TestApp, resource: Json, headers: Record<string, string> = {}): Promise<Json> {
  const hasId = typeof resource.id === 'string';
  const response = await app.request({
    method: hasId ? 'PUT' : 'POST',
    url: `/fhir/${resource.resourceType as string}${hasId ? `/${resource.id as string}` : ''}`,
    body: resource,
    headers,
  });
  if (response.statusCode !== 200 && response.statusCode !== 201) {
    throw new Error(`write of ${resource.resourceType as string} failed with ${response.statusCode}: ${response.body}`);
  }
  return response.json();
}
