/**
 * What a CarePlan allows (docs/care-workflows.md): for each activity, how many sessions (its
 * detail.scheduledTiming.repeat.count, or detail.quantity), how many more on indication
 * (repeat.countMax, https://hl7.org/fhir/R4/datatypes.html#Timing: "count is a range"), and the
 * window in which they fall (CarePlan.period). An activity that references a ServiceRequest takes
 * its limit from that request (occurrenceTiming.repeat.count, or quantityQuantity).
 *
 * The Cardiologische Zorgbrug (docs/care-workflows.md, section 2) supplies defaults where a care-bridge plan leaves
 * them out: 9 physiotherapy sessions, 4 district-nurse home visits plus 1 on indication, and a
 * window of 12 weeks from the discharge date.
 */
import type { CarePlan, CarePlanActivity, CodeableConcept, ServiceRequest, Timing } from '@medplum/fhirtypes';
import { parseLocalReference } from '../../fhir/references.js';
import { addDays, dateOnly } from './dates.js';
import { CARE_BRIDGE_CATEGORY, CARE_BRIDGE_PROFILE, DISCHARGE_DATE_EXTENSION, HOME_VISIT, PHYSIOTHERAPY, SNOMED } from './profiles.js';

export interface ActivityLimit {
  /** Position in CarePlan.activity. */
  readonly index: number;
  readonly code: CodeableConcept | undefined;
  /** `ServiceRequest/{id}` for an activity that references its request. */
  readonly request: string | undefined;
  /** The PractitionerRole (or other) reference of the activity's performer, if any. */
  readonly performer: string | undefined;
  /** Sessions allowed; undefined when the plan sets no limit. */
  readonly allowed: number | undefined;
  /** Sessions allowed on indication beyond `allowed` (countMax - count). */
  readonly onIndication: number;
}

export interface PlanWindow {
  /** First day (YYYY-MM-DD), inclusive. */
  readonly start: string | undefined;
  /** Last day (YYYY-MM-DD), inclusive. */
  readonly end: string | undefined;
}

export interface PlanLimits {
  readonly window: PlanWindow;
  readonly activities: readonly ActivityLimit[];
}

/** The care bridge runs for 12 weeks from discharge (docs/care-workflows.md, section 2). */
export const CARE_BRIDGE_DAYS = 84;

const DEFAULTS: ReadonlyArray<{ code: string; count: number; countMax?: number }> = [
  { code: PHYSIOTHERAPY, count: 9 },
  { code: HOME_VISIT, count: 4, countMax: 5 },
];

export function isCareBridgePlan(plan: CarePlan): boolean {
  return (
    (plan.meta?.profile ?? []).includes(CARE_BRIDGE_PROFILE) ||
    (plan.category ?? []).some((c) => (c.coding ?? []).some((x) => x.system === CARE_BRIDGE_CATEGORY.system && x.code === CARE_BRIDGE_CATEGORY.code))
  );
}

export function dischargeDate(plan: CarePlan): string | undefined {
  return plan.extension?.find((e) => e.url === DISCHARGE_DATE_EXTENSION)?.valueDate;
}

export function hasCode(concept: CodeableConcept | undefined, system: string, code: string): boolean {
  return (concept?.coding ?? []).some((c) => c.system === system && c.code === code);
}

function fromTiming(timing: Timing | undefined, quantity: number | undefined): { count?: number; countMax?: number } {
  const count = timing?.repeat?.count ?? quantity;
  const countMax = timing?.repeat?.countMax;
  return { ...(count !== undefined ? { count } : {}), ...(countMax !== undefined ? { countMax } : {}) };
}

function activityLimit(activity: CarePlanActivity, index: number, requests: ReadonlyMap<string, ServiceRequest>, careBridge: boolean, baseUrl: string | undefined): ActivityLimit {
  const local = activity.reference?.reference === undefined ? undefined : parseLocalReference(activity.reference.reference, baseUrl);
  const request = local?.resourceType === 'ServiceRequest' ? `ServiceRequest/${local.id}` : undefined;
  const sr = request === undefined ? undefined : requests.get(request);
  const detail = activity.detail;
  const code = detail?.code ?? sr?.code;
  let limit = detail
    ? fromTiming(detail.scheduledTiming, detail.quantity?.value)
    : fromTiming(sr?.occurrenceTiming, sr?.quantityQuantity?.value);
  if (careBridge && limit.count === undefined) {
    const fallback = DEFAULTS.find((d) => hasCode(code, SNOMED, d.code));
    if (fallback) {
      const countMax = limit.countMax ?? fallback.countMax;
      limit = { count: fallback.count, ...(countMax !== undefined ? { countMax } : {}) };
    }
  }
  const allowed = limit.count;
  return {
    index,
    code,
    request,
    performer: detail?.performer?.[0]?.reference ?? sr?.performer?.[0]?.reference,
    allowed,
    onIndication: allowed !== undefined && limit.countMax !== undefined ? Math.max(0, limit.countMax - allowed) : 0,
  };
}

/** The window and per-activity limits of a plan; `requests` holds the ServiceRequests its activities reference. */
export function planLimits(plan: CarePlan, requests: ReadonlyMap<string, ServiceRequest> = new Map(), baseUrl?: string): PlanLimits {
  const careBridge = isCareBridgePlan(plan);
  const discharge = careBridge ? dischargeDate(plan) : undefined;
  const start = dateOnly(plan.period?.start) ?? discharge;
  const end = dateOnly(plan.period?.end) ?? (careBridge && start !== undefined ? addDays(start, CARE_BRIDGE_DAYS) : undefined);
  return {
    window: { start, end },
    activities: (plan.activity ?? []).map((activity, index) => activityLimit(activity, index, requests, careBridge, baseUrl)),
  };
}
