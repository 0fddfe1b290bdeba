/**
 * Sessions used against the care-bridge budget (docs/care-workflows.md, section 2: 9 physiotherapy
 * sessions, 4 + 1 home visits within 12 weeks of discharge), per organisation, as a ratio:
 * sessions used (numerator) over sessions budgeted (denominator, allowed plus on indication).
 *
 * The counting is $progress's own (care-bridge/plan-limits.ts, visits.ts, progress.ts), not a
 * second one: a plan's figure here is what `CarePlan/{id}/$progress?date={last day}` reports for
 * its activities with the Measure's activity code (`used`, and `allowed` + `onIndication`), so
 * visits over the limit or outside the window are used sessions too, as $progress counts them.
 *
 * The plans, their activities' ServiceRequests and their visits are read from the stored resources
 * through the index (as every indicator is: aggregate figures over all the server holds), not
 * through the caller's narrowed search service, which would show a regional network with Measure
 * scopes no CarePlan at all; what leaves is counts per organisation.
 *
 * Unit: a care-bridge CarePlan (category cardiac-care-bridge; not draft or entered in error) whose
 * window's last day falls in the reporting period, with at least one such activity.
 * Organisation of an activity, first that applies (the order of attribution-sql.ts, for a plan
 * whose activities are each carried out on a referral): the owner of the referral Task of the
 * activity's ServiceRequest (not rejected, cancelled or entered in error), else the activity's
 * performer, else the plan's author, else the patient's managing organisation.
 */
import type { CarePlan, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { parseLocalReference } from '../../fhir/references.js';
import type { Queryable } from '../../storage/database.js';
import { hasCode, planLimits } from '../care-bridge/plan-limits.js';
import { CARE_BRIDGE_CATEGORY } from '../care-bridge/profiles.js';
import { planProgress } from '../care-bridge/progress.js';
import { VISIT_TYPES, visitOf, type Visit } from '../care-bridge/visits.js';
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
  readonly baseUrl: string;
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

async function organisationFor(db: Queryable, baseUrl: string, plan: CarePlan, request: string | undefined, performer: string | undefined): Promise<string | null> {
  const [, requestId] = parts(request, baseUrl);
  const [, patientId] = parts(plan.subject.reference, baseUrl);
  const rows = await db.query<{ org_id: string | null }>(ORGANISATION_SQL, [
    requestId,
    ...parts(performer, baseUrl),
    ...parts(plan.author?.reference, baseUrl),
    patientId,
  ]);
  return rows[0]?.org_id ?? null;
}

/** Care-bridge plans that may have used sessions (category index, status), optionally of one patient. */
async function carePlans(db: Queryable, patientId: string | undefined): Promise<CarePlan[]> {
  const rows = await db.query<{ content: string }>(
    `SELECT cp.content
       FROM search_token c
       JOIN resource cp ON cp.sid = c.sid AND NOT cp.deleted
       JOIN search_token st ON st.sid = c.sid AND st.param = 'status' AND st.code IN ('active', 'on-hold', 'revoked', 'completed')
      WHERE c.resource_type = 'CarePlan' AND c.param = 'category' AND c.system = $1 AND c.code = $2
        AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM search_reference s WHERE s.sid = c.sid AND s.param = 'subject'
                                         AND s.target_type = 'Patient' AND s.target_id = $3::text))
      ORDER BY cp.id`,
    [CARE_BRIDGE_CATEGORY.system, CARE_BRIDGE_CATEGORY.code, patientId ?? null]
  );
  return rows.map((r) => JSON.parse(r.content) as CarePlan);
}

/**
 * What care-bridge/plan-data.ts loads through the search service, read from the index instead: the
 * ServiceRequests the plan's activities reference, and the Procedures and Encounters based on the
 * plan or on those requests.
 */
async function planData(db: Queryable, baseUrl: string, plan: CarePlan): Promise<{ reference: string; requests: Map<string, ServiceRequest>; visits: Visit[] }> {
  const requestIds = [
    ...new Set(
      (plan.activity ?? [])
        .map((a) => (a.reference?.reference === undefined ? undefined : parseLocalReference(a.reference.reference, baseUrl)))
        .filter((r) => r?.resourceType === 'ServiceRequest')
        .map((r) => r?.id as string)
    ),
  ];
  const requests = await db.query<{ content: string }>(
    `SELECT content FROM resource WHERE resource_type = 'ServiceRequest' AND id = ANY($1::text[]) AND NOT deleted`,
    [requestIds]
  );
  const visits = await db.query<{ content: string }>(
    `SELECT DISTINCT r.sid, r.content
       FROM search_reference b
       JOIN resource r ON r.sid = b.sid AND NOT r.deleted
      WHERE b.resource_type = ANY($1::text[]) AND b.param = 'based-on'
        AND ((b.target_type = 'CarePlan' AND b.target_id = $2) OR (b.target_type = 'ServiceRequest' AND b.target_id = ANY($3::text[])))`,
    [[...VISIT_TYPES], plan.id, requestIds]
  );
  return {
    reference: `CarePlan/${plan.id as string}`,
    requests: new Map(requests.map((r) => JSON.parse(r.content) as ServiceRequest).map((sr) => [`ServiceRequest/${sr.id as string}`, sr])),
    visits: visits.map((r) => visitOf(JSON.parse(r.content) as Resource, baseUrl)).filter((v): v is Visit => v !== undefined),
  };
}

interface Counts {
  initial: number;
  denominator: number;
  numerator: number;
}

/** Rows per organisation: plans (initial), sessions budgeted (denominator) and used (numerator). */
export async function careBridgeSessions(db: Queryable, query: SessionsQuery): Promise<IndicatorRow[]> {
  const activity = query.indicator.activity;
  const plans = await carePlans(db, query.patientId);
  const byOrganisation = new Map<string | null, Counts>();
  for (const plan of plans) {
    const data = await planData(db, query.baseUrl, plan);
    const limits = planLimits(plan, data.requests, query.baseUrl);
    const last = limits.window.end;
    if (activity === undefined || last === undefined || last < query.firstDay || last > query.lastDay) {
      continue;
    }
    const progress = planProgress(data.reference, limits, data.visits, last);
    for (const figures of progress.activities.filter((a) => hasCode(a.limit.code, activity.system, activity.code))) {
      const org = await organisationFor(db, query.baseUrl, plan, figures.limit.request, figures.limit.performer);
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
