/**
 * Indicators as one SQL aggregation each, over the search index tables (storage/migrations/
 * 002_search_index.sql), never over resource JSON: the database counts per organisation and
 * answers a handful of rows, whatever the size of the cohort.
 *
 * The chain a measurement follows through the index:
 *   CarePlan (status, period = `date`, subject)  <- Task `based-on` (moment = `code`, `status`,
 *   `focus` = Questionnaire, `output` = QuestionnaireResponse)  <- Observation `derived-from`
 *   (score = `code`, `status`, `value-quantity`).
 * Attribution (issue 6): a unit counts for the organisation of the author of its deciding
 * response (QuestionnaireResponse `author`: a PractitionerRole's `organization`, or an
 * Organization), else for the patient's managing organisation (Patient `organization`). The
 * deciding response is the one at the last of the indicator's moments that has one (the end of
 * treatment before the intake), of the scored pair for score indicators.
 */
import type { AccessFilter } from '../../search/types.js';
import type { Indicator } from './indicator.js';

export interface IndicatorQuery {
  readonly indicator: Indicator;
  /** The reporting period as instants: [start, end). */
  readonly periodStart: string;
  readonly periodEnd: string;
  /** Only this patient's units (MeasureReport type individual). */
  readonly patientId: string | undefined;
  /** Only units that count for this organisation. */
  readonly organizationId: string | undefined;
  /** Security narrowing of the CarePlan and Task rows (issue 7); undefined counts everything. */
  readonly access?: AccessFilter;
}

/** Counts per organisation; `total` is the sum of the score changes (score-change only). */
export interface IndicatorRow {
  readonly org_id: string | null;
  readonly initial: string | number;
  readonly denominator: string | number;
  readonly numerator: string | number;
  readonly total: string | number | null;
}

class Params {
  readonly values: unknown[] = [];
  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
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

/** Organisation of each unit's deciding response, else of its patient: CTE `attributed`. */
function attribution(params: Params, organizationId: string | undefined): string {
  return `attributed AS (
    SELECT u.*, COALESCE(ro.org_id, mo.org_id) AS org_id
      FROM unit u
      LEFT JOIN LATERAL (
        SELECT COALESCE(pro.target_id, CASE WHEN a.target_type = 'Organization' THEN a.target_id END) AS org_id
          FROM resource qr
          JOIN search_reference a ON a.sid = qr.sid AND a.param = 'author'
          LEFT JOIN resource pr ON a.target_type = 'PractitionerRole' AND pr.resource_type = 'PractitionerRole'
                               AND pr.id = a.target_id AND NOT pr.deleted
          LEFT JOIN search_reference pro ON pro.sid = pr.sid AND pro.param = 'organization' AND pro.target_type = 'Organization'
         WHERE qr.resource_type = 'QuestionnaireResponse' AND qr.id = u.response_id AND NOT qr.deleted
         ORDER BY 1 NULLS LAST LIMIT 1) ro ON true
      LEFT JOIN LATERAL (
        SELECT o.target_id AS org_id
          FROM resource p
          JOIN search_reference o ON o.sid = p.sid AND o.param = 'organization' AND o.target_type = 'Organization'
         WHERE p.resource_type = 'Patient' AND p.id = u.patient_id
         ORDER BY 1 LIMIT 1) mo ON true
  )
  SELECT org_id, count(*) AS initial, sum(denominator) AS denominator, sum(numerator) AS numerator, sum(total) AS total
    FROM attributed${organizationId === undefined ? '' : ` WHERE org_id = ${params.bind(organizationId)}`}
   GROUP BY org_id ORDER BY org_id NULLS LAST`;
}

/** Finished treatments in the period that have Tasks for the indicator's moments, and those Tasks. */
function treatmentTasks(query: IndicatorQuery, params: Params): string {
  const patient = query.patientId === undefined ? '' : ` AND subj.target_id = ${params.bind(query.patientId)}`;
  return `treatment AS (
    SELECT cp.id AS careplan_id, subj.target_id AS patient_id
      FROM search_date pe
      JOIN resource cp ON cp.sid = pe.sid AND NOT cp.deleted${narrow(query, params, 'cp')}
      JOIN search_token st ON st.sid = pe.sid AND st.param = 'status' AND st.code = 'completed'
      JOIN search_reference subj ON subj.sid = pe.sid AND subj.param = 'subject' AND subj.target_type = 'Patient'
     WHERE pe.resource_type = 'CarePlan' AND pe.param = 'date'
       AND pe.end_at > ${params.bind(query.periodStart)}::timestamptz AND pe.end_at <= ${params.bind(query.periodEnd)}::timestamptz${patient}
  ), task AS (
    SELECT tr.careplan_id, tr.patient_id, m.n, st.code AS status, f.target_id AS questionnaire_id, o.target_id AS response_id
      FROM treatment tr
      JOIN search_reference bo ON bo.resource_type = 'Task' AND bo.param = 'based-on' AND bo.target_type = 'CarePlan' AND bo.target_id = tr.careplan_id
      JOIN resource t ON t.sid = bo.sid AND NOT t.deleted${narrow(query, params, 't')}
      JOIN search_token mc ON mc.sid = t.sid AND mc.param = 'code'
      JOIN ${momentsRelation(query, params)} ON m.system = mc.system AND m.code = mc.code
      JOIN search_token st ON st.sid = t.sid AND st.param = 'status' AND st.code <> 'cancelled'
      LEFT JOIN search_reference f ON f.sid = t.sid AND f.param = 'focus' AND f.target_type = 'Questionnaire'
      LEFT JOIN search_reference o ON o.sid = t.sid AND o.param = 'output' AND o.target_type = 'QuestionnaireResponse'
                                  AND st.code = 'completed'
  ), decider AS (
    SELECT DISTINCT ON (careplan_id) careplan_id, response_id
      FROM task WHERE response_id IS NOT NULL
     ORDER BY careplan_id, n DESC, response_id
  )`;
}

/** Scores of the completed Tasks' responses, and the first-to-last pair per treatment. */
function scoredPairs(query: IndicatorQuery, params: Params): string {
  const score = query.indicator.score;
  return `scored AS (
    SELECT task.careplan_id, task.n, task.questionnaire_id, task.response_id, q.low AS value
      FROM task
      JOIN search_reference df ON df.resource_type = 'Observation' AND df.param = 'derived-from'
                              AND df.target_type = 'QuestionnaireResponse' AND df.target_id = task.response_id
      JOIN resource ob ON ob.sid = df.sid AND NOT ob.deleted
      JOIN search_token oc ON oc.sid = df.sid AND oc.param = 'code' AND oc.system = ${params.bind(score?.system)} AND oc.code = ${params.bind(score?.code)}
      JOIN search_token os ON os.sid = df.sid AND os.param = 'status' AND os.code IN ('final', 'amended', 'corrected')
      JOIN search_quantity q ON q.sid = df.sid AND q.param = 'value-quantity' AND q.low IS NOT NULL
  ), pair AS (
    SELECT DISTINCT ON (a.careplan_id) a.careplan_id, a.value AS v0, b.value AS v1, b.response_id
      FROM scored a
      JOIN scored b ON b.careplan_id = a.careplan_id AND b.questionnaire_id = a.questionnaire_id AND b.n = 2
     WHERE a.n = 1
     ORDER BY a.careplan_id, b.response_id
  )`;
}

function scoreSql(query: IndicatorQuery, params: Params): string {
  const { type, threshold, lowerIsBetter } = query.indicator;
  const gain = lowerIsBetter ? 'p.v0 - p.v1' : 'p.v1 - p.v0';
  const numerator =
    type === 'score-improvement' ? `CASE WHEN ${gain} >= ${params.bind(threshold ?? 0)}::numeric THEN 1 ELSE 0 END` : 'NULL::int';
  return `WITH ${treatmentTasks(query, params)}, ${scoredPairs(query, params)}, unit AS (
    SELECT tr.careplan_id, tr.patient_id, COALESCE(p.response_id, d.response_id) AS response_id,
           CASE WHEN p.careplan_id IS NULL THEN 0 ELSE 1 END AS denominator,
           ${numerator} AS numerator,
           p.v1 - p.v0 AS total
      FROM treatment tr
      LEFT JOIN pair p ON p.careplan_id = tr.careplan_id
      LEFT JOIN decider d ON d.careplan_id = tr.careplan_id
     WHERE EXISTS (SELECT 1 FROM task WHERE task.careplan_id = tr.careplan_id)
  ), ${attribution(params, query.organizationId)}`;
}

function completenessSql(query: IndicatorQuery, params: Params): string {
  return `WITH ${treatmentTasks(query, params)}, moment_state AS (
    SELECT careplan_id, n, bool_and(status = 'completed') AS done FROM task GROUP BY careplan_id, n
  ), unit AS (
    SELECT tr.careplan_id, tr.patient_id, d.response_id, 1 AS denominator,
           CASE WHEN (SELECT count(*) FROM moment_state s WHERE s.careplan_id = tr.careplan_id AND s.done)
                     = ${params.bind(query.indicator.moments.length)} THEN 1 ELSE 0 END AS numerator,
           NULL::numeric AS total
      FROM treatment tr
      LEFT JOIN decider d ON d.careplan_id = tr.careplan_id
     WHERE EXISTS (SELECT 1 FROM task WHERE task.careplan_id = tr.careplan_id)
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
  }
  return { sql, params: params.values };
}
