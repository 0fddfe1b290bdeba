/**
 * Referrals whose feedback is late: a referral Task (focus a ServiceRequest with intent `order`,
 * domain/referral/referral-task-hook.ts) that its owner accepted more than REFERRAL_FEEDBACK_DUE_DAYS
 * ago, that is still accepted or in progress, and for which no feedback exists yet: no
 * Communication based on the referral (the feedback completing the Task needs, same file). When it
 * was accepted is the first version of the Task with status `accepted` (resource_history).
 */
import type { Queryable } from '../../storage/database.js';
import { businessStatusPattern } from './business-status.js';

const DAY_MS = 86_400_000;

/** Ids of referral Tasks to mark feedback-overdue, at most `limit`, longest accepted first. */
export async function feedbackOverdueReferrals(db: Queryable, now: Date, dueDays: number, limit: number): Promise<string[]> {
  const acceptedBefore = new Date(now.getTime() - dueDays * DAY_MS).toISOString();
  const rows = await db.query<{ id: string }>(
    `SELECT t.id FROM resource t
       JOIN resource sr ON sr.resource_type = 'ServiceRequest' AND NOT sr.deleted
        AND 'ServiceRequest/' || sr.id = t.content::jsonb #>> '{focus,reference}'
        AND sr.content::jsonb ->> 'intent' = 'order'
       CROSS JOIN LATERAL (
         SELECT min(h.last_updated) AS at FROM resource_history h
          WHERE h.resource_type = 'Task' AND h.id = t.id AND NOT h.deleted AND h.content::jsonb ->> 'status' = 'accepted'
       ) accepted
      WHERE t.resource_type = 'Task' AND NOT t.deleted
        AND t.content::jsonb ->> 'status' IN ('accepted', 'in-progress')
        AND NOT t.content::jsonb @> $1::jsonb
        AND accepted.at <= $2::timestamptz
        AND NOT EXISTS (
          SELECT 1 FROM search_reference x JOIN resource c ON c.sid = x.sid AND NOT c.deleted
           WHERE x.resource_type = 'Communication' AND x.param = 'based-on'
             AND x.target_type = 'ServiceRequest' AND x.target_id = sr.id)
      ORDER BY accepted.at, t.id
      LIMIT $3`,
    [businessStatusPattern('feedback-overdue'), acceptedBefore, limit]
  );
  return rows.map((row) => row.id);
}
