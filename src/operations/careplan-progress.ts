// $progress on a CarePlan: GET [base]/CarePlan/{id}/$progress (docs/care-workflows.md)
/**
 * Sessions used against allowed per activity and discipline, and the days left in the plan's
 * window (docs/care-workflows.md, section 2 and 4: "sessions used against limits"). Works for any CarePlan:
 * limits come from each activity (domain/care-bridge/plan-limits.ts), the care-bridge profile
 * supplies defaults. `date` (YYYY-MM-DD, default today) is the day the figures are for. The answer
 * is a Parameters resource (domain/care-bridge/progress-parameters.ts).
 */
import type { CarePlan, CodeableConcept, OperationDefinition, PractitionerRole } from '@medplum/fhirtypes';
import { isCalendarDate } from '../fhir/dates.js';
import { badRequest } from '../fhir/outcomes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import { loadPlanData } from '../domain/care-bridge/plan-data.js';
import { planProgress } from '../domain/care-bridge/progress.js';
import { progressParameters } from '../domain/care-bridge/progress-parameters.js';
import { searchAll, type DomainSearch } from '../domain/search-pages.js';
import type { OperationInput } from './operation-parameters.js';
import type { OperationHandler } from './registry.js';

const definition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'CarePlan-progress',
  url: 'http://schakel.nl/fhir/OperationDefinition/CarePlan-progress',
  name: 'CarePlanProgress',
  title: 'Sessions used against the limits of a care plan',
  status: 'active',
  kind: 'operation',
  description:
    'Per activity of the plan: sessions allowed (detail.scheduledTiming.repeat.count or detail.quantity; countMax - count on indication; care-bridge defaults 9 physiotherapy, 4 + 1 home visits), used and remaining, the visits with their flags (over-limit, on-indication, outside-window, unplanned), and the days left in the plan period (care bridge: 12 weeks from discharge).',
  code: 'progress',
  resource: ['CarePlan'],
  system: false,
  type: false,
  instance: true,
  affectsState: false,
  parameter: [
    { name: 'date', use: 'in', min: 0, max: '1', type: 'date', documentation: 'The day the figures are for (default: today)' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Parameters', documentation: 'carePlan, asOf, window, activity (repeating), unplannedVisit (repeating), flagged' },
  ],
};

/** The discipline (PractitionerRole.code, else .specialty) of each activity performer that is a role. */
async function disciplines(ctx: DomainSearch, performers: readonly string[]): Promise<Map<string, CodeableConcept>> {
  const ids = performers.filter((p) => p.startsWith('PractitionerRole/')).map((p) => p.slice('PractitionerRole/'.length));
  if (ids.length === 0) {
    return new Map();
  }
  const roles = await searchAll<PractitionerRole>(ctx, ['PractitionerRole'], [['_id', [...new Set(ids)].join(',')]]);
  const found = new Map<string, CodeableConcept>();
  for (const role of roles) {
    const discipline = role.code?.[0] ?? role.specialty?.[0];
    if (discipline) {
      found.set(`PractitionerRole/${role.id as string}`, discipline);
    }
  }
  return found;
}

async function progress(ctx: FhirContext, request: FhirRequest, input: OperationInput): Promise<FhirResponse> {
  const id = request.id as string;
  const asOf = input.value('date') ?? new Date().toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || !isCalendarDate(asOf)) {
    throw badRequest(`date must be a full date (YYYY-MM-DD), got "${asOf}"`, 'date');
  }
  const domain: DomainSearch = { search: ctx.search, db: ctx.repo.queryable, baseUrl: request.baseUrl };
  const plan = await ctx.repo.readResource<CarePlan>('CarePlan', id);
  const data = await loadPlanData(domain, plan);
  const figures = planProgress(data.reference, data.limits, data.visits, asOf);
  const performers = data.limits.activities.map((a) => a.performer).filter((p): p is string => p !== undefined);
  return { status: 200, resource: progressParameters(data.reference, figures, await disciplines(domain, performers)) };
}

export const carePlanProgressOperation: OperationHandler = {
  name: 'progress',
  definition,
  resourceTypes: ['CarePlan'],
  levels: ['instance'],
  handle: progress,
};
