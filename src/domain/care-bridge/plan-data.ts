/**
 * Reads what a plan's progress is computed from, through the search service (search-pages.ts):
 * the ServiceRequests its activities reference, and the Procedures and Encounters based on the
 * plan or on those requests (index-backed: `based-on` is a reference index).
 */
import type { CarePlan, ServiceRequest } from '@medplum/fhirtypes';
import { parseLocalReference } from '../../fhir/references.js';
import { searchAll, type DomainSearch } from '../search-pages.js';
import { planLimits, type PlanLimits } from './plan-limits.js';
import { VISIT_TYPES, visitOf, type Visit } from './visits.js';

export interface PlanData {
  readonly reference: string;
  readonly limits: PlanLimits;
  readonly visits: readonly Visit[];
}

/** The ServiceRequests referenced by a plan's activities, by `ServiceRequest/{id}`. */
async function activityRequests(ctx: DomainSearch, plan: CarePlan): Promise<Map<string, ServiceRequest>> {
  const ids = (plan.activity ?? [])
    .map((a) => (a.reference?.reference === undefined ? undefined : parseLocalReference(a.reference.reference, ctx.baseUrl)))
    .filter((r) => r?.resourceType === 'ServiceRequest')
    .map((r) => r?.id as string);
  if (ids.length === 0) {
    return new Map();
  }
  const found = await searchAll<ServiceRequest>(ctx, ['ServiceRequest'], [['_id', [...new Set(ids)].join(',')]]);
  return new Map(found.map((sr) => [`ServiceRequest/${sr.id as string}`, sr]));
}

/** The plan's limits and every visit based on it or on one of its activities' requests. */
export async function loadPlanData(ctx: DomainSearch, plan: CarePlan): Promise<PlanData> {
  const reference = `CarePlan/${plan.id as string}`;
  const requests = await activityRequests(ctx, plan);
  const basedOn = [reference, ...requests.keys()];
  const resources = await searchAll(ctx, VISIT_TYPES, [['based-on', basedOn.join(',')]]);
  const visits = resources.map((r) => visitOf(r, ctx.baseUrl)).filter((v): v is Visit => v !== undefined);
  return { reference, limits: planLimits(plan, requests, ctx.baseUrl), visits };
}
