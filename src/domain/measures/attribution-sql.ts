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

/** Organisation of each unit's deciding response, else of its patient: CTE `attributed`. */
export function attribution(params: Params, organizationId: string | undefined): string {
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

