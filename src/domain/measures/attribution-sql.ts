/**
 * Which organisation a unit of an indicator counts for, as SQL over the search index tables
 * (storage/migrations/002_search_index.sql). The CTE reads `unit` (careplan_id, patient_id,
 * response_id, denominator, numerator, total) and answers one row per organisation.
 */

/** Binds values as $n parameters: values are never spliced into SQL text. */
export class Params {
  readonly values: unknown[] = [];
  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * The organisation a reference (type and id as SQL expressions) stands for: an Organization
 * itself, or the `organization` of a PractitionerRole; NULL for anything else (a Practitioner, a
 * Patient, a CareTeam), which leaves the unit to the next rule of the attribution order.
 */
export function organisationOf(type: string, id: string): string {
  return `(CASE WHEN ${type} = 'Organization' THEN ${id}
            WHEN ${type} = 'PractitionerRole' THEN (
              SELECT po.target_id FROM resource pr
                JOIN search_reference po ON po.sid = pr.sid AND po.param = 'organization' AND po.target_type = 'Organization'
               WHERE pr.resource_type = 'PractitionerRole' AND pr.id = ${id} AND NOT pr.deleted
               ORDER BY 1 LIMIT 1) END)`;
}

/** Referral Task states in which its owner is not (or no longer) the one who treats. */
export const NOT_TREATING = `('rejected', 'cancelled', 'entered-in-error')`;

/**
 * The organisation each unit counts for (CTE `attributed`), in this order (docs/outcome-questionnaires.md,
 * "Attribution"); the first rule that yields an organisation decides:
 *
 * 1. The organisation that treated:
 *    a. the owner of the referral Task of the referral the measurement belongs to: a ServiceRequest
 *       in the deciding QuestionnaireResponse's `basedOn`, else one that an activity of the
 *       treatment CarePlan carries out (`CarePlan.activity.reference`; R4 CarePlan.basedOn may only
 *       name a CarePlan); its Task is the one whose `focus` it is, not rejected, cancelled or
 *       entered in error (the owner of such a Task did not treat). Of several, the response's
 *       referral first, then the lowest organisation id, so a report is the same on every run;
 *    b. else the author of the treatment CarePlan (CarePlan.author; R4 has no search parameter for
 *       it, so it is read from the stored CarePlan, a primary-key lookup per unit).
 * 2. The author of the deciding QuestionnaireResponse.
 * 3. The patient's managing organisation.
 *
 * In each rule a PractitionerRole counts for its `organization` and an Organization for itself.
 * "Belongs to" is explicit links only (the unit's CarePlan, through Task.basedOn, and the response),
 * never "a referral open for the patient on the measurement date": a patient in pain care often has
 * referrals to a physiotherapist and a rehabilitation centre at once, and a guess by date would
 * credit either.
 */
export function attribution(params: Params, organizationId: string | undefined): string {
  return `attributed AS (
    SELECT u.*, COALESCE(rf.org_id, ca.org_id, ro.org_id, mo.org_id) AS org_id
      FROM unit u
      LEFT JOIN LATERAL (
        SELECT x.org_id FROM (
          SELECT src.resource_type AS via, ${organisationOf('ow.target_type', 'ow.target_id')} AS org_id
            FROM resource src
            JOIN search_reference ref ON ref.sid = src.sid AND ref.target_type = 'ServiceRequest'
                                     AND ref.param = CASE src.resource_type WHEN 'CarePlan' THEN 'activity-reference' ELSE 'based-on' END
            JOIN search_reference fo ON fo.resource_type = 'Task' AND fo.param = 'focus' AND fo.target_id = ref.target_id
                                    AND fo.target_type = 'ServiceRequest'
            JOIN resource rt ON rt.sid = fo.sid AND NOT rt.deleted
            JOIN search_token rs ON rs.sid = fo.sid AND rs.param = 'status' AND rs.code NOT IN ${NOT_TREATING}
            JOIN search_reference ow ON ow.sid = fo.sid AND ow.param = 'owner'
           WHERE ((src.resource_type = 'CarePlan' AND src.id = u.careplan_id)
               OR (src.resource_type = 'QuestionnaireResponse' AND src.id = u.response_id)) AND NOT src.deleted) x
         WHERE x.org_id IS NOT NULL
         ORDER BY x.via DESC, x.org_id LIMIT 1) rf ON true
      LEFT JOIN LATERAL (
        SELECT ${organisationOf('m.a[1]', 'm.a[2]')} AS org_id
          FROM resource cp
          CROSS JOIN LATERAL regexp_match((cp.content::jsonb) #>> '{author,reference}', '(PractitionerRole|Organization)/([A-Za-z0-9.-]{1,64})$') AS m(a)
         WHERE cp.resource_type = 'CarePlan' AND cp.id = u.careplan_id AND NOT cp.deleted) ca ON true
      LEFT JOIN LATERAL (
        SELECT ${organisationOf('a.target_type', 'a.target_id')} AS org_id
          FROM resource qr
          JOIN search_reference a ON a.sid = qr.sid AND a.param = 'author'
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
