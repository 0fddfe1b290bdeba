/**
 * Referral indicators (docs/outcome-questionnaires.md, "Network indicators") as one SQL
 * aggregation each over the search index, the stored referral and the history of its Task.
 *
 * The unit is a referral: a ServiceRequest with intent `order` and category SNOMED CT 3457005
 * (verwijzing, fixed by profiles/referral.json), authored (`authoredOn`) in the reporting period,
 * not entered in error. Its Task is the one whose `focus` it is (not entered in error; one that
 * still holds it before one that was rejected or cancelled). Days are calendar days between the
 * dates as written (care-bridge/dates.ts does the same), so a referral on Monday accepted on
 * Wednesday took 2 days, whatever the hour or time zone.
 *
 * - Discipline: the requested one (ServiceRequest.performerType, RoleCodeNL), else that of the
 *   PractitionerRole that owns the Task (PractitionerRole.code or .specialty, the `discipline`
 *   search parameter).
 * - Organisation: the one that holds or held the referral: the Task's owner, else the referral's
 *   first performer (a PractitionerRole's organization, or an Organization).
 * - Accepted: the first version of the Task with status `accepted` (resource_history), on the day
 *   of its Task.lastModified (when the EHR says it happened), else of its meta.lastUpdated.
 * - Feedback: a Task that is `completed` (which needs feedback in Task.output,
 *   profiles/referral-task.json sch-task-3), on the day the feedback Communication was `sent`
 *   (the earliest of those in Task.output), else the day of the first completed version as above.
 * - Onward referral to secondary care: another referral of the same patient to one of the
 *   Measure's secondary-care disciplines, based on this one (ServiceRequest.basedOn) or authored
 *   from this referral's day up to `onwardDays` days after its feedback.
 */
import { NOT_TREATING, organisationOf, Params } from './attribution-sql.js';
import type { IndicatorQuery } from './indicator-sql.js';

/** The same question as every indicator's (indicator-sql.ts). */
export type ReferralQuery = IndicatorQuery;

const SNOMED = 'http://snomed.info/sct';
const REFERRAL_CATEGORY = '3457005';
const ROLE_CODE_NL = 'urn:oid:2.16.840.1.113883.2.4.15.111';

function narrow(query: ReferralQuery, params: Params, alias: string): string {
  const condition = query.access?.({ alias, bind: (v) => params.bind(v) });
  return condition ? ` AND (${condition})` : '';
}

/** A FHIR date or dateTime as written -> its calendar day. */
const day = (json: string): string => `left(${json}, 10)::date`;
/** The day a Task version says it was written: Task.lastModified, else meta.lastUpdated. */
const versionDay = `COALESCE(${day(`(h.content::jsonb)->>'lastModified'`)}, (h.last_updated AT TIME ZONE 'UTC')::date)`;

/** One row per referral (CTE `referral`): patient, discipline, organisation, the days of its steps. */
function referralStream(query: ReferralQuery, params: Params): string {
  const patient = query.patientId === undefined ? '' : ` AND subj.target_id = ${params.bind(query.patientId)}`;
  return `referral AS (
    SELECT sr.id AS referral_id, subj.target_id AS patient_id,
           ${day(`(sr.content::jsonb)->>'authoredOn'`)} AS authored_day,
           COALESCE(pt.code, od.code) AS discipline,
           COALESCE(${organisationOf('tk.owner_type', 'tk.owner_id')}, ${organisationOf('pf.target_type', 'pf.target_id')}) AS org_id,
           tk.status, acc.accepted_day,
           CASE WHEN tk.status = 'completed' THEN COALESCE(fb.sent_day, acc.completed_day) END AS feedback_day
      FROM search_date au
      JOIN resource sr ON sr.sid = au.sid AND NOT sr.deleted${narrow(query, params, 'sr')}
      JOIN search_token cat ON cat.sid = au.sid AND cat.param = 'category' AND cat.system = ${params.bind(SNOMED)} AND cat.code = ${params.bind(REFERRAL_CATEGORY)}
      JOIN search_token it ON it.sid = au.sid AND it.param = 'intent' AND it.code = 'order'
      JOIN search_token ss ON ss.sid = au.sid AND ss.param = 'status' AND ss.code <> 'entered-in-error'
      JOIN search_reference subj ON subj.sid = au.sid AND subj.param = 'subject' AND subj.target_type = 'Patient'
      LEFT JOIN LATERAL (
        SELECT code FROM search_token WHERE sid = au.sid AND param = 'performer-type' AND system = ${params.bind(ROLE_CODE_NL)}
         ORDER BY code LIMIT 1) pt ON true
      LEFT JOIN LATERAL (
        SELECT target_type, target_id FROM search_reference WHERE sid = au.sid AND param = 'performer'
         ORDER BY target_type, target_id LIMIT 1) pf ON true
      LEFT JOIN LATERAL (
        SELECT t.sid, t.id, st.code AS status, ow.target_type AS owner_type, ow.target_id AS owner_id
          FROM search_reference fo
          JOIN resource t ON t.sid = fo.sid AND NOT t.deleted${narrow(query, params, 't')}
          JOIN search_token st ON st.sid = fo.sid AND st.param = 'status' AND st.code <> 'entered-in-error'
          LEFT JOIN search_reference ow ON ow.sid = fo.sid AND ow.param = 'owner'
         WHERE fo.resource_type = 'Task' AND fo.param = 'focus' AND fo.target_type = 'ServiceRequest' AND fo.target_id = sr.id
         ORDER BY st.code IN ${NOT_TREATING}, t.sid DESC LIMIT 1) tk ON true
      LEFT JOIN LATERAL (
        SELECT sd.code FROM resource pr JOIN search_token sd ON sd.sid = pr.sid AND sd.param = 'discipline' AND sd.system = ${params.bind(ROLE_CODE_NL)}
         WHERE tk.owner_type = 'PractitionerRole' AND pr.resource_type = 'PractitionerRole' AND pr.id = tk.owner_id AND NOT pr.deleted
         ORDER BY sd.code LIMIT 1) od ON true
      LEFT JOIN LATERAL (
        SELECT (array_agg(${versionDay} ORDER BY h.version_id) FILTER (WHERE (h.content::jsonb)->>'status' = 'accepted'))[1] AS accepted_day,
               (array_agg(${versionDay} ORDER BY h.version_id) FILTER (WHERE (h.content::jsonb)->>'status' = 'completed'))[1] AS completed_day
          FROM resource_history h
         WHERE h.resource_type = 'Task' AND h.id = tk.id AND NOT h.deleted) acc ON true
      LEFT JOIN LATERAL (
        SELECT min(${day(`(c.content::jsonb)->>'sent'`)}) AS sent_day
          FROM search_reference o
          JOIN resource c ON c.resource_type = 'Communication' AND c.id = o.target_id AND NOT c.deleted
         WHERE o.sid = tk.sid AND o.param = 'output' AND o.target_type = 'Communication') fb ON true
     WHERE au.resource_type = 'ServiceRequest' AND au.param = 'authored'
       AND au.start_at >= ${params.bind(query.periodStart)}::timestamptz AND au.start_at < ${params.bind(query.periodEnd)}::timestamptz${patient}
  )`;
}

function onlyOrganisation(query: ReferralQuery, params: Params): string {
  return query.organizationId === undefined ? '' : ` WHERE org_id = ${params.bind(query.organizationId)}`;
}

/**
 * Referrals per organisation and discipline: all of them (initial), those to a primary-care
 * discipline whose Task completed (denominator), and of those the ones without an onward referral
 * to secondary care (numerator). A referral without a known discipline is not in the denominator.
 */
function primaryCareSql(query: ReferralQuery, params: Params): string {
  const secondary = params.bind((query.indicator.secondaryCare ?? []).map((c) => c.code));
  const onwardDays = params.bind(query.indicator.onwardDays ?? 0);
  return `WITH ${referralStream(query, params)}, unit AS (
    SELECT r.*, CASE WHEN r.status = 'completed' AND r.discipline IS NOT NULL AND r.discipline <> ALL(${secondary}::text[]) THEN 1 ELSE 0 END AS denominator
      FROM referral r
  ), judged AS (
    SELECT u.org_id, u.discipline, u.denominator,
           CASE WHEN u.denominator = 1 AND NOT EXISTS (
             SELECT 1
               FROM search_reference os
               JOIN resource o ON o.sid = os.sid AND NOT o.deleted AND o.id <> u.referral_id
               JOIN search_token oc ON oc.sid = os.sid AND oc.param = 'category' AND oc.system = ${params.bind(SNOMED)} AND oc.code = ${params.bind(REFERRAL_CATEGORY)}
               JOIN search_token ot ON ot.sid = os.sid AND ot.param = 'performer-type' AND ot.code = ANY(${secondary}::text[])
               JOIN search_token ost ON ost.sid = os.sid AND ost.param = 'status' AND ost.code <> 'entered-in-error'
              WHERE os.resource_type = 'ServiceRequest' AND os.param = 'subject' AND os.target_type = 'Patient' AND os.target_id = u.patient_id
                AND (EXISTS (SELECT 1 FROM search_reference b WHERE b.sid = os.sid AND b.param = 'based-on' AND b.target_type = 'ServiceRequest' AND b.target_id = u.referral_id)
                     OR ${day(`(o.content::jsonb)->>'authoredOn'`)} BETWEEN u.authored_day AND u.feedback_day + ${onwardDays}::int)
           ) THEN 1 ELSE 0 END AS numerator
      FROM unit u
  )
  SELECT org_id, discipline, count(*) AS initial, sum(denominator) AS denominator, sum(numerator) AS numerator, NULL::numeric AS total
    FROM judged${onlyOrganisation(query, params)}
   GROUP BY org_id, discipline ORDER BY org_id NULLS LAST, discipline NULLS LAST`;
}

/**
 * The median days of one interval, per organisation and over all (GROUPING SETS: a median of
 * the whole is not a sum of the strata). initial: the referrals; denominator: those with both
 * ends of the interval, whose days are the measure observations.
 */
function intervalSql(query: ReferralQuery, params: Params): string {
  const days = query.indicator.interval === 'acceptance-to-feedback' ? 'feedback_day - accepted_day' : 'accepted_day - authored_day';
  return `WITH ${referralStream(query, params)}, unit AS (
    SELECT org_id, (${days}) AS days FROM referral${onlyOrganisation(query, params)}
  )
  SELECT org_id, GROUPING(org_id) = 1 AS is_total, count(*) AS initial, count(days) AS denominator, 0 AS numerator,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median
    FROM unit
   GROUP BY GROUPING SETS ((org_id), ())
   ORDER BY is_total, org_id NULLS LAST`;
}

/** The statement and its parameters for a referral indicator. */
export function referralStatement(query: ReferralQuery): { sql: string; params: unknown[] } {
  const params = new Params();
  const sql = query.indicator.type === 'referral-interval' ? intervalSql(query, params) : primaryCareSql(query, params);
  return { sql, params: params.values };
}
