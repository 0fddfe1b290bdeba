/**
 * Indicators as one SQL aggregation each, over the search index tables (storage/migrations/
 * 002_search_index.sql), never over resource JSON: the database counts per organisation and
 * answers a handful of rows, whatever the size of the cohort.
 *
 * The chain a measurement follows through the index:
 *   CarePlan (status, period = `date`, subject)  <- Task `based-on` (moment = `code`, `status`,
 *   `focus` = Questionnaire, `output` = QuestionnaireResponse)  <- Observation `derived-from`
 *   (score = `code`, `status`, `value-quantity`).
 * Attribution (attribution-sql.ts, where the order is computed): a unit counts for the organisation
 * that treated (the owner of the referral Task of the treatment's referral, else the CarePlan's
 * author), else the author of its deciding response, else the patient's managing organisation. The
 * deciding response is the one at the last of the indicator's moments that has one (the end of
 * treatment before the intake), of the scored pair for score indicators.
 */
import type { AccessFilter } from '../../search/types.js';
import type { Indicator } from './indicator.js';
import { attribution, Params } from './attribution-sql.js';
import { referralStatement } from './referral-indicator-sql.js';

export interface IndicatorQuery {
  readonly indicator: Indicator;
  /** The reporting period as instants: [start, end). */
  readonly periodStart: string;
  readonly periodEnd: string;
  /** Only this patient's units (MeasureReport type individual). */
  readonly patientId: string | undefined;
  /** Only units that count for this organisation. */
  readonly organizationId: string | undefined;
  /** Security narrowing of the CarePlan and Task rows (docs/security.md); undefined counts everything. */
  readonly access?: AccessFilter;
}

/** Counts per organisation; `total` is the sum of the score changes (score-change only). */
export interface IndicatorRow {
  readonly org_id: string | null;
  readonly initial: string | number;
  readonly denominator: string | number;
  readonly numerator: string | number;
  readonly total?: string | number | null;
  /** referral-primary-care: rows per organisation and discipline (RoleCodeNL code). */
  readonly discipline?: string | null;
  /** referral-interval: the median, and the row over all organisations (a median is no sum). */
  readonly median?: string | number | null;
  readonly is_total?: boolean;
}

function narrow(query: IndicatorQuery, params: Params, alias: string): string {
  const condition = query.access?.({ alias, bind: (v) => params.bind(v) });
  return condition ? ` AND (${condition})` : '';
}

/** The indicator's moments as a relation m(system, code, n), n counting from 1. */
function momentsRelation(query: IndicatorQuery, params: Params): string {
  const systems = params.bind(query.indicator.moments.map((m) => m.system));
  const codes = params.bind(query.indicator.moments.map((m) => m.code));
  return `unnest(${systems}::text[], ${codes}::text[]) WITH ORDINALITY AS m(system, code, n)`;
}

/**
 * The row stream of treatment indicators: one row per Task of a finished treatment (CarePlan
 * `completed`, end in the period) at one of the indicator's moments (n = its position), with the
 * response that completed it and that response's score, when the indicator has one. Every step is
 * an index lookup per row; what follows are hash aggregations, never joins between CTEs, so the
 * cost grows with the cohort, not with its square.
 */
function taskStream(query: IndicatorQuery, params: Params): string {
  const patient = query.patientId === undefined ? '' : ` AND subj.target_id = ${params.bind(query.patientId)}`;
  const score = query.indicator.score;
  const scored = score
    ? `LEFT JOIN LATERAL (
        SELECT q.low AS value
          FROM search_reference df
          JOIN resource ob ON ob.sid = df.sid AND NOT ob.deleted
          JOIN search_token oc ON oc.sid = df.sid AND oc.param = 'code' AND oc.system = ${params.bind(score.system)} AND oc.code = ${params.bind(score.code)}
          JOIN search_token os ON os.sid = df.sid AND os.param = 'status' AND os.code IN ('final', 'amended', 'corrected')
          JOIN search_quantity q ON q.sid = df.sid AND q.param = 'value-quantity' AND q.low IS NOT NULL
         WHERE df.resource_type = 'Observation' AND df.param = 'derived-from'
           AND df.target_type = 'QuestionnaireResponse' AND df.target_id = o.target_id
         LIMIT 1) s ON true`
    : 'LEFT JOIN LATERAL (SELECT NULL::numeric AS value) s ON true';
  return `task AS (
    SELECT cp.id AS careplan_id, subj.target_id AS patient_id, m.n, st.code AS status,
           f.target_id AS questionnaire_id, o.target_id AS response_id, s.value
      FROM search_date pe
      JOIN resource cp ON cp.sid = pe.sid AND NOT cp.deleted${narrow(query, params, 'cp')}
      JOIN search_token cs ON cs.sid = pe.sid AND cs.param = 'status' AND cs.code = 'completed'
      JOIN search_reference subj ON subj.sid = pe.sid AND subj.param = 'subject' AND subj.target_type = 'Patient'
      JOIN search_reference bo ON bo.resource_type = 'Task' AND bo.param = 'based-on' AND bo.target_type = 'CarePlan' AND bo.target_id = cp.id
      JOIN resource t ON t.sid = bo.sid AND NOT t.deleted${narrow(query, params, 't')}
      JOIN search_token mc ON mc.sid = t.sid AND mc.param = 'code'
      JOIN ${momentsRelation(query, params)} ON m.system = mc.system AND m.code = mc.code
      JOIN search_token st ON st.sid = t.sid AND st.param = 'status' AND st.code <> 'cancelled'
      LEFT JOIN search_reference f ON f.sid = t.sid AND f.param = 'focus' AND f.target_type = 'Questionnaire'
      LEFT JOIN search_reference o ON o.sid = t.sid AND o.param = 'output' AND o.target_type = 'QuestionnaireResponse'
                                  AND st.code = 'completed'
      ${scored}
     WHERE pe.resource_type = 'CarePlan' AND pe.param = 'date'
       AND pe.end_at > ${params.bind(query.periodStart)}::timestamptz AND pe.end_at <= ${params.bind(query.periodEnd)}::timestamptz${patient}
  ), by_moment AS (
    SELECT careplan_id, questionnaire_id, n, min(patient_id) AS patient_id, bool_and(status = 'completed') AS done,
           min(value) AS value, min(response_id) AS response_id
      FROM task GROUP BY careplan_id, questionnaire_id, n
  ), by_questionnaire AS (
    SELECT careplan_id, questionnaire_id, min(patient_id) AS patient_id,
           min(value) FILTER (WHERE n = 1) AS v0,
           min(value) FILTER (WHERE n = 2) AS v1,
           min(response_id) FILTER (WHERE n = 2 AND value IS NOT NULL) AS to_response,
           max(n) FILTER (WHERE response_id IS NOT NULL) AS last_n,
           (array_agg(response_id ORDER BY n DESC, response_id) FILTER (WHERE response_id IS NOT NULL))[1] AS last_response,
           count(*) AS moments, count(*) FILTER (WHERE done) AS done
      FROM by_moment GROUP BY careplan_id, questionnaire_id
  ), by_plan AS (
    SELECT careplan_id, min(patient_id) AS patient_id,
           (array_agg(v1 - v0 ORDER BY questionnaire_id) FILTER (WHERE v0 IS NOT NULL AND v1 IS NOT NULL))[1] AS change,
           (array_agg(to_response ORDER BY questionnaire_id) FILTER (WHERE v0 IS NOT NULL AND v1 IS NOT NULL))[1] AS pair_response,
           (array_agg(last_response ORDER BY last_n DESC, last_response) FILTER (WHERE last_response IS NOT NULL))[1] AS last_response
      FROM by_questionnaire GROUP BY careplan_id
  )`;
}

function scoreSql(query: IndicatorQuery, params: Params): string {
  const { type, threshold, lowerIsBetter } = query.indicator;
  const gain = lowerIsBetter ? '-change' : 'change';
  const numerator = type === 'score-improvement' ? `CASE WHEN ${gain} >= ${params.bind(threshold ?? 0)}::numeric THEN 1 ELSE 0 END` : 'NULL::int';
  return `WITH ${taskStream(query, params)}, unit AS (
    SELECT careplan_id, patient_id, COALESCE(pair_response, last_response) AS response_id,
           CASE WHEN change IS NULL THEN 0 ELSE 1 END AS denominator,
           ${numerator} AS numerator,
           change AS total
      FROM by_plan
  ), ${attribution(params, query.organizationId)}`;
}

/** A moment is complete when every Task at it (each instrument) is completed. */
function completenessSql(query: IndicatorQuery, params: Params): string {
  return `WITH ${taskStream(query, params)}, moment_state AS (
    SELECT careplan_id, n, min(patient_id) AS patient_id, bool_and(done) AS done, min(response_id) AS response_id
      FROM by_moment GROUP BY careplan_id, n
  ), unit AS (
    SELECT careplan_id, min(patient_id) AS patient_id,
           (array_agg(response_id ORDER BY n DESC, response_id) FILTER (WHERE response_id IS NOT NULL))[1] AS response_id,
           1 AS denominator,
           CASE WHEN count(*) FILTER (WHERE done) = ${params.bind(query.indicator.moments.length)} THEN 1 ELSE 0 END AS numerator,
           NULL::numeric AS total
      FROM moment_state GROUP BY careplan_id
  ), ${attribution(params, query.organizationId)}`;
}

/** Follow-up response: one unit per treatment and moment whose due window closed in the period. */
function responseSql(query: IndicatorQuery, params: Params): string {
  const [moment] = query.indicator.moments;
  const patient = query.patientId === undefined ? '' : ` AND subj.target_id = ${params.bind(query.patientId)}`;
  return `WITH due AS (
    SELECT bo.target_id AS careplan_id, subj.target_id AS patient_id, st.code AS status, o.target_id AS response_id
      FROM search_token mc
      JOIN resource t ON t.sid = mc.sid AND NOT t.deleted${narrow(query, params, 't')}
      JOIN search_date w ON w.sid = mc.sid AND w.param = 'restriction-period'
                        AND w.end_at > ${params.bind(query.periodStart)}::timestamptz AND w.end_at <= ${params.bind(query.periodEnd)}::timestamptz
      JOIN search_token st ON st.sid = mc.sid AND st.param = 'status' AND st.code <> 'cancelled'
      JOIN search_reference bo ON bo.sid = mc.sid AND bo.param = 'based-on' AND bo.target_type = 'CarePlan'
      JOIN search_reference subj ON subj.sid = mc.sid AND subj.param = 'subject' AND subj.target_type = 'Patient'
      LEFT JOIN search_reference o ON o.sid = mc.sid AND o.param = 'output' AND o.target_type = 'QuestionnaireResponse'
                                  AND st.code = 'completed'
     WHERE mc.resource_type = 'Task' AND mc.param = 'code'
       AND mc.code = ${params.bind(moment?.code)} AND mc.system = ${params.bind(moment?.system)}${patient}
  ), unit AS (
    SELECT careplan_id, min(patient_id) AS patient_id, min(response_id) AS response_id, 1 AS denominator,
           CASE WHEN bool_and(status = 'completed') THEN 1 ELSE 0 END AS numerator, NULL::numeric AS total
      FROM due GROUP BY careplan_id
  ), ${attribution(params, query.organizationId)}`;
}

/** The statement and its parameters for one indicator. */
export function indicatorStatement(query: IndicatorQuery): { sql: string; params: unknown[] } {
  const params = new Params();
  let sql: string;
  switch (query.indicator.type) {
    case 'score-change':
    case 'score-improvement':
      sql = scoreSql(query, params);
      break;
    case 'moment-completeness':
      sql = completenessSql(query, params);
      break;
    case 'moment-response':
      sql = responseSql(query, params);
      break;
    case 'referral-primary-care':
    case 'referral-interval':
      return referralStatement(query);
    case 'care-bridge-sessions':
      throw new Error('care-bridge-sessions is computed by care-bridge-sessions.ts from $progress figures, not by one statement');
  }
  return { sql, params: params.values };
}
