// $logbook on a CarePlan: GET [base]/CarePlan/{id}/$logbook (docs/care-workflows.md)
/**
 * A plan's entries are based on the plan or on the ServiceRequest of one of its activities (a
 * referral listed as an activity brings its feedback and visits along) and are about the plan's
 * patient. The search itself is the joint logbook's (logbook-operation.ts).
 */
import type { CarePlan } from '@medplum/fhirtypes';
import { parseLocalReference } from '../fhir/references.js';
import type { QueryParams } from '../fhir/request.js';
import { logbookOperation } from './logbook-operation.js';

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

export const carePlanLogbookOperation = logbookOperation(
  'CarePlan',
  'The joint logbook of a care plan: Observations, feedback Communications, visits (Procedures, Encounters) based on the plan or on the ServiceRequest of one of its activities, written by every member of the care team, newest first, with date, category and author-discipline filters and paging.',
  async (ctx, id, baseUrl) => planScope(await ctx.repo.readResource<CarePlan>('CarePlan', id), baseUrl)
);
