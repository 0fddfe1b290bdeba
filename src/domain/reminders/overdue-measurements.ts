/**
 * Measurement Tasks whose due window has passed (domain/schedules/apply-measurement-set.ts makes
 * them: input typed pain-outcomes#questionnaire, window in restriction.period, date precision with
 * an inclusive end, as task-completion.ts matches responses) and that are still open: a response
 * completes its Task, so an open Task after its window is a missed measurement.
 */
import type { Task } from '@medplum/fhirtypes';
import { parseDateRange } from '../../fhir/dates.js';
import type { Queryable } from '../../storage/database.js';
import { PAIN_OUTCOMES_SYSTEM } from '../canonical-urls.js';
import { OPEN_TASK_STATES } from '../schedules/task-completion.js';
import { businessStatusPattern, hasBusinessStatus } from './business-status.js';

const MEASUREMENT_INPUT = JSON.stringify({ input: [{ type: { coding: [{ system: PAIN_OUTCOMES_SYSTEM, code: 'questionnaire' }] } }] });

/** Whether the window of an open measurement Task lies wholly before `now` and it is not marked yet. */
export function isOverdueMeasurement(task: Task, now: Date): boolean {
  const end = task.restriction?.period?.end;
  const window = end === undefined ? undefined : parseDateRange(end);
  return (
    (OPEN_TASK_STATES as readonly string[]).includes(task.status) &&
    window !== undefined &&
    window.end.getTime() <= now.getTime() &&
    !hasBusinessStatus(task, 'overdue')
  );
}

/** Ids of measurement Tasks to mark overdue, at most `limit`, oldest window first. */
export async function overdueMeasurements(db: Queryable, now: Date, limit: number): Promise<string[]> {
  // The window end is compared in SQL at day precision on its first ten characters (a date or the
  // date of a dateTime), a superset of what isOverdueMeasurement admits; the exact check follows.
  const rows = await db.query<{ id: string; content: string }>(
    `SELECT r.id, r.content FROM resource r
      WHERE r.resource_type = 'Task' AND NOT r.deleted
        AND r.content::jsonb ->> 'status' = ANY($1::text[])
        AND r.content::jsonb @> $2::jsonb
        AND NOT r.content::jsonb @> $3::jsonb
        AND left(r.content::jsonb #>> '{restriction,period,end}', 10) <= $4
      ORDER BY r.content::jsonb #>> '{restriction,period,end}', r.id
      LIMIT $5`,
    [[...OPEN_TASK_STATES], MEASUREMENT_INPUT, businessStatusPattern('overdue'), now.toISOString().slice(0, 10), limit]
  );
  return rows.filter((row) => isOverdueMeasurement(JSON.parse(row.content) as Task, now)).map((row) => row.id);
}
