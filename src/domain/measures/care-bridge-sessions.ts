/**
 * Sessions used against the care-bridge budget (docs/care-workflows.md, section 2: 9 physiotherapy
 * sessions, 4 + 1 home visits within 12 weeks of discharge), per organisation, as a ratio:
 * sessions used (numerator) over sessions budgeted (denominator, allowed plus on indication).
 *
 * The counting is $progress's own (care-bridge/plan-data.ts, plan-limits.ts, progress.ts), not a
 * second one: a plan's figure here is what `CarePlan/{id}/$progress?date={last day}` reports for
 * its activities with the Measure's activity code (`used`, and `allowed` + `onIndication`), so
 * visits over the limit or outside the window are used sessions too, as $progress counts them.
 *
 * Unit: a care-bridge CarePlan (category cardiac-care-bridge; not draft or entered in error) whose
 * window's last day falls in the reporting period, with at least one such activity.
 * Organisation of an activity, first that applies (the order of attribution-sql.ts, for a plan
 * whose activities are each carried out on a referral): the owner of the referral Task of the
 * activity's ServiceRequest (not rejected, cancelled or entered in error), else the activity's
 * performer, else the plan's author, else the patient's managing organisation.
 */
import type { CarePlan } from '@medplum/fhirtypes';
import { parseLocalReference } from '../../fhir/references.js';
import { loadPlanData } from '../care-bridge/plan-data.js';
import { hasCode } from '../care-bridge/plan-limits.js';
import { CARE_BRIDGE_CATEGORY } from '../care-bridge/profiles.js';
import { planProgress } from '../care-bridge/progress.js';
import { searchAll, type DomainSearch } from '../search-pages.js';
import { NOT_TREATING, organisationOf } from './attribution-sql.js';
import type { Indicator } from './indicator.js';
import type { IndicatorRow } from './indicator-sql.js';

export interface SessionsQuery {
  readonly indicator: Indicator;
  /** The reporting period as calendar days, both inclusive. */
  readonly firstDay: string;
  readonly lastDay: string;
  readonly patientId: string | undefined;
  readonly organizationId: string | undefined;
}

const ORGANISATION_SQL = `SELECT COALESCE(
    (SELECT ${organisationOf('ow.target_type', 'ow.target_id')}
       FROM search_reference fo
       JOIN resource t ON t.sid = fo.sid AND NOT t.deleted
       JOIN search_token st ON st.sid = fo.sid AND st.param = 'status' AND st.code NOT IN ${NOT_TREATING}
       JOIN search_reference ow ON ow.sid = fo.sid AND ow.param = 'owner'
      WHERE fo.resource_type = 'Task' AND fo.param = 'focus' AND fo.target_type = 'ServiceRequest' AND fo.target_id = $1
      ORDER BY 1 NULLS LAST LIMIT 1),
    ${organisationOf('$2::text', '$3::text')},
    ${organisationOf('$4::text', '$5::text')},
    (SELECT o.target_id FROM resource p
       JOIN search_reference o ON o.sid = p.sid AND o.param = 'organization' AND o.target_type = 'Organization'
      WHERE p.resource_type = 'Patient' AND p.id = $6 ORDER BY 1 LIMIT 1)) AS org_id`;

function parts(reference: string | undefined, baseUrl: string): [string | null, string | null] {
  const local = reference === undefined ? undefined : parseLocalReference(reference, baseUrl);
  return local ? [local.resourceType, local.id] : [null, null];
}

async function organisationFor(ctx: DomainSearch, plan: CarePlan, request: string | undefined, performer: string | undefined): Promise<string | null> {
  const [, requestId] = parts(request, ctx.baseUrl);
  const [, patientId] = parts(plan.subject.reference, ctx.baseUrl);
  const rows = await ctx.db.query<{ org_id: string | null }>(ORGANISATION_SQL, [
    requestId,
    ...parts(performer, ctx.baseUrl),
    ...parts(plan.author?.reference, ctx.baseUrl),
    patientId,
  ]);
  return rows[0]?.org_id ?? null;
}

interface Counts {
  initial: number;
  denominator: number;
  numerator: number;
}

/** Rows per organisation: plans (initial), sessions budgeted (denominator) and used (numerator). */
export async function careBridgeSessions(ctx: DomainSearch, query: SessionsQuery): Promise<IndicatorRow[]> {
  const activity = query.indicator.activity;
  // Plans whose period overlaps the reporting period (R4 search: a period matches `ge`/`le` when
  // they intersect); the window's last day is checked below, where plan-limits.ts computes it.
  const plans = await searchAll<CarePlan>(ctx, ['CarePlan'], [
    ['category', `${CARE_BRIDGE_CATEGORY.system}|${CARE_BRIDGE_CATEGORY.code}`],
    ['status', 'active,on-hold,revoked,completed'],
    ['date', `ge${query.firstDay}`],
    ...(query.patientId === undefined ? [] : [['subject', `Patient/${query.patientId}`] as [string, string]]),
  ]);
  const byOrganisation = new Map<string | null, Counts>();
  for (const plan of plans) {
    const data = await loadPlanData(ctx, plan);
    const last = data.limits.window.end;
    if (activity === undefined || last === undefined || last < query.firstDay || last > query.lastDay) {
      continue;
    }
    const progress = planProgress(data.reference, data.limits, data.visits, last);
    for (const figures of progress.activities.filter((a) => hasCode(a.limit.code, activity.system, activity.code))) {
      const org = await organisationFor(ctx, plan, figures.limit.request, figures.limit.performer);
      if (query.organizationId !== undefined && org !== query.organizationId) {
        continue;
      }
      const counts = byOrganisation.get(org) ?? { initial: 0, denominator: 0, numerator: 0 };
      counts.initial += 1;
      counts.denominator += (figures.limit.allowed ?? 0) + figures.limit.onIndication;
      counts.numerator += figures.used;
      byOrganisation.set(org, counts);
    }
  }
  return [...byOrganisation.entries()]
    .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : a.localeCompare(b)))
    .map(([org_id, c]) => ({ org_id, initial: c.initial, denominator: c.denominator, numerator: c.numerator, total: null }));
}
