// $logbook on a CarePlan: GET [base]/CarePlan/{id}/$logbook (issue 5)
/**
 * The joint logbook of a shared care plan (DOMAIN.md, flow 2): the entries every member of the care
 * team wrote for it, newest first. An entry belongs to the plan when it is based on the plan or on
 * the ServiceRequest of one of its activities (a referral listed as an activity brings its
 * feedback and visits along), and is about the plan's patient. Filters and paging as
 * domain/logbook/logbook-search.ts describes.
 */
import type { CarePlan } from '@medplum/fhirtypes';
import { parseLocalReference } from '../fhir/references.js';
import type { FhirRequest, FhirResponse, QueryParams } from '../fhir/request.js';
import type { FhirContext } from '../interactions/context.js';
import { searchLogbook } from '../domain/logbook/logbook-search.js';
import type { DomainSearch } from '../domain/search-pages.js';
import { logbookDefinition } from './logbook-definition.js';
import { operationParameters } from './operation-input.js';
import type { OperationHandler } from './registry.js';

/** The plan and its activities' requests, as `based-on` values; the plan's patient. */
function planScope(plan: CarePlan, baseUrl: string): QueryParams {
  const basedOn = [`CarePlan/${plan.id as string}`];
  for (const activity of plan.activity ?? []) {
    const local = activity.reference?.reference === undefined ? undefined : parseLocalReference(activity.reference.reference, baseUrl);
    if (local?.resourceType === 'ServiceRequest') {
      basedOn.push(`ServiceRequest/${local.id}`);
    }
  }
  const subject = plan.subject.reference === undefined ? undefined : parseLocalReference(plan.subject.reference, baseUrl);
  return [['based-on', [...new Set(basedOn)].join(',')], ...(subject?.resourceType === 'Patient' ? [['patient', `Patient/${subject.id}`] as const] : [])];
}

async function carePlanLogbook(ctx: FhirContext, request: FhirRequest): Promise<FhirResponse> {
  const id = request.id as string;
  const parameters = operationParameters(request);
  const domain: DomainSearch = { search: ctx.search, db: ctx.repo.queryable, baseUrl: request.baseUrl };
  const plan = await ctx.repo.readResource<CarePlan>('CarePlan', id);
  const linkPath = `CarePlan/${id}/$logbook`;
  const bundle = await searchLogbook(domain, { scope: planScope(plan, request.baseUrl), parameters, prefer: request.prefer, linkPath });
  return { status: 200, resource: bundle };
}

export const carePlanLogbookOperation: OperationHandler = {
  name: 'logbook',
  definition: logbookDefinition(
    'CarePlan',
    'The joint logbook of a care plan: Observations, feedback Communications, visits (Procedures, Encounters) based on the plan or on the ServiceRequest of one of its activities, written by every member of the care team, newest first, with date, category and author-discipline filters and paging.'
  ),
  resourceTypes: ['CarePlan'],
  levels: ['instance'],
  handle: carePlanLogbook,
};
