/**
 * Building blocks for indicator tests on a cohort written in the test itself: organisations with
 * one professional each, referrals moved through the referral Task states with the dates an EHR
 * writes (Task.lastModified), and reading a MeasureReport group or stratum.
 */
import type { Test } from 'tap';
import type { TestApp } from './app.js';

type Json = any;

export const ROLE_CODE = 'urn:oid:2.16.840.1.113883.2.4.15.111';

/** Writes one resource by PUT and fails the test on anything but 200/201. */
export async function put(t: Test, app: TestApp, resource: Json): Promise<Json> {
  const response = await app.request({ method: 'PUT', url: `/fhir/${resource.resourceType}/${resource.id}`, body: resource });
  if (response.statusCode !== 200 && response.statusCode !== 201) {
    t.fail(`PUT ${resource.resourceType}/${resource.id}: ${response.statusCode} ${response.body}`);
  }
  return response.json();
}

/** An organisation and a PractitionerRole `role-{id}` in it with a RoleCodeNL discipline. */
export async function organisation(t: Test, app: TestApp, id: string, name: string, discipline: string): Promise<void> {
  await put(t, app, { resourceType: 'Organization', id, name, active: true });
  await put(t, app, {
    resourceType: 'PractitionerRole',
    id: `role-${id}`,
    active: true,
    organization: { reference: `Organization/${id}` },
    code: [{ coding: [{ system: ROLE_CODE, code: discipline }] }],
  });
}

export async function patient(t: Test, app: TestApp, id: string, managingOrganization: string): Promise<void> {
  await put(t, app, { resourceType: 'Patient', id, name: [{ family: 'Test', given: [id] }], managingOrganization: { reference: `Organization/${managingOrganization}` } });
}

export interface ReferralSteps {
  readonly id: string;
  readonly patient: string;
  /** RoleCodeNL code of the requested discipline (ServiceRequest.performerType). */
  readonly discipline: string;
  readonly requester: string;
  /** The PractitionerRole that receives the referral and becomes the Task's owner. */
  readonly performer: string;
  /** ServiceRequest.authoredOn (YYYY-MM-DD). */
  readonly authored: string;
  /** Days (YYYY-MM-DD) on which the Task reached these states, in order; `rejected` ends it. */
  readonly received?: string;
  readonly accepted?: string;
  readonly rejected?: string;
  readonly completed?: string;
  readonly basedOn?: string;
}

/**
 * A referral (ServiceRequest, intent order) and its Task, moved through the referral Task state
 * machine one write per state as an EHR would, each version carrying its day in Task.lastModified;
 * completed with a feedback Communication sent that day.
 */
export async function referral(t: Test, app: TestApp, r: ReferralSteps): Promise<void> {
  await put(t, app, {
    resourceType: 'ServiceRequest',
    id: r.id,
    status: 'active',
    intent: 'order',
    category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005' }] }],
    subject: { reference: `Patient/${r.patient}` },
    authoredOn: `${r.authored}T09:00:00+01:00`,
    requester: { reference: `PractitionerRole/${r.requester}` },
    performerType: { coding: [{ system: ROLE_CODE, code: r.discipline }] },
    performer: [{ reference: `PractitionerRole/${r.performer}` }],
    ...(r.basedOn ? { basedOn: [{ reference: `ServiceRequest/${r.basedOn}` }] } : {}),
  });
  const task: Json = {
    resourceType: 'Task',
    id: `task-${r.id}`,
    status: 'requested',
    intent: 'order',
    focus: { reference: `ServiceRequest/${r.id}` },
    for: { reference: `Patient/${r.patient}` },
    requester: { reference: `PractitionerRole/${r.requester}` },
    authoredOn: `${r.authored}T09:00:00+01:00`,
    lastModified: `${r.authored}T09:00:00+01:00`,
  };
  await put(t, app, task);
  const step = async (status: string, day: string | undefined, extra: Json = {}): Promise<boolean> => {
    if (day === undefined) {
      return false;
    }
    Object.assign(task, { status, lastModified: `${day}T11:00:00+01:00`, owner: { reference: `PractitionerRole/${r.performer}` } }, extra);
    await put(t, app, task);
    return true;
  };
  if (!(await step('received', r.received))) {
    return;
  }
  if (await step('rejected', r.rejected, { statusReason: { text: 'Niet passend' } })) {
    return;
  }
  if (!(await step('accepted', r.accepted))) {
    return;
  }
  if (r.completed === undefined) {
    return;
  }
  await step('in-progress', r.accepted);
  await put(t, app, {
    resourceType: 'Communication',
    id: `feedback-${r.id}`,
    status: 'completed',
    basedOn: [{ reference: `ServiceRequest/${r.id}` }],
    subject: { reference: `Patient/${r.patient}` },
    sent: `${r.completed}T16:00:00+01:00`,
    sender: { reference: `PractitionerRole/${r.performer}` },
    recipient: [{ reference: `PractitionerRole/${r.requester}` }],
    payload: [{ contentString: 'Behandeling afgerond.' }],
  });
  await step('completed', r.completed, {
    output: [{ type: { text: 'Terugkoppeling' }, valueReference: { reference: `Communication/feedback-${r.id}` } }],
  });
}

export async function evaluate(app: TestApp, measure: string, query: string): Promise<Json> {
  const response = await app.request({ method: 'GET', url: `/fhir/Measure/${measure}/$evaluate-measure?${query}` });
  if (response.statusCode !== 200) {
    throw new Error(`${measure}: ${response.statusCode} ${response.body}`);
  }
  return response.json();
}

export const count = (at: Json, code: string): number | undefined => at?.population?.find((p: Json) => p.code.coding[0].code === code)?.count;

/** The stratum of a group's stratifier (0: organisation) whose value text is `text`. */
export function stratum(group: Json, text: string, stratifier = 0): Json {
  return group.stratifier[stratifier].stratum.find((s: Json) => s.value.text === text);
}

/** Strata texts of a stratifier, sorted. */
export function strataOf(group: Json, stratifier = 0): string[] {
  return group.stratifier[stratifier].stratum.map((s: Json) => s.value.text).sort();
}
