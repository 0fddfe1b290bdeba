/**
 * One reminder pass (docs/care-workflows.md, "Reminders"): measurement Tasks past their window get
 * businessStatus `overdue`, accepted referrals without feedback past REFERRAL_FEEDBACK_DUE_DAYS get
 * `feedback-overdue`; read grants of notified pull whose period has ended are removed. Each mark
 * is a normal versioned update by the server through the repository, so it gets its Provenance
 * (agent: the server, audit/provenance.ts) and a change event, and the subscriptions of those who
 * follow the Task are notified. A Task is marked once: what is marked
 * is not found again. One node at a time: the pass runs in one transaction that first takes a
 * transaction-scoped PostgreSQL advisory lock (as audit/audit-retention.ts does); a node that does
 * not get it does nothing this time.
 */
import type { Task } from '@medplum/fhirtypes';
import type { Repository } from '../../repository/repository.js';
import { businessStatus, hasBusinessStatus, type ReminderCode } from './business-status.js';
import { feedbackOverdueReferrals } from './feedback-overdue.js';
import { isOverdueMeasurement, overdueMeasurements } from './overdue-measurements.js';

/** Arbitrary constant: the advisory lock key of the reminder pass. */
const REMINDER_LOCK = 7_513_018;
/** Tasks marked per kind and pass: bounds the transaction; the next pass takes the rest. */
const BATCH = 200;

export interface ReminderOptions {
  readonly feedbackDueDays: number;
}

export interface ReminderResult {
  /** False when another node held the lock and this pass did nothing. */
  readonly ran: boolean;
  /** Ids of the measurement Tasks marked `overdue`. */
  readonly overdue: string[];
  /** Ids of the referral Tasks marked `feedback-overdue`. */
  readonly feedbackOverdue: string[];
  /** Read grants removed because their period had ended (notified pull, auth/pull-grants.ts). */
  readonly expiredGrants: number;
}

async function mark(repo: Repository, id: string, code: ReminderCode, still: (task: Task) => boolean): Promise<boolean> {
  const current = await repo.readResource<Task>('Task', id);
  if (hasBusinessStatus(current, code) || !still(current)) {
    return false;
  }
  await repo.update({ ...current, id, businessStatus: businessStatus(code), lastModified: new Date().toISOString() });
  return true;
}

/** Runs one pass at `now` (tests pass a later instant to stand for time gone by). */
export async function runReminderPass(repo: Repository, options: ReminderOptions, now: Date = new Date()): Promise<ReminderResult> {
  return repo.transaction(async (tx) => {
    const [lock] = await tx.queryable.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [REMINDER_LOCK]);
    if (lock?.locked !== true) {
      return { ran: false, overdue: [], feedbackOverdue: [], expiredGrants: 0 };
    }
    const overdue: string[] = [];
    for (const id of await overdueMeasurements(tx.queryable, now, BATCH)) {
      if (await mark(tx, id, 'overdue', (task) => isOverdueMeasurement(task, now))) {
        overdue.push(id);
      }
    }
    const feedbackOverdue: string[] = [];
    for (const id of await feedbackOverdueReferrals(tx.queryable, now, options.feedbackDueDays, BATCH)) {
      if (await mark(tx, id, 'feedback-overdue', () => true)) {
        feedbackOverdue.push(id);
      }
    }
    // The narrowing ignores a grant past its end already; removing it keeps read_grant small.
    const expired = await tx.queryable.query<{ id: string }>('DELETE FROM read_grant WHERE until <= $1 RETURNING id', [now.toISOString()]);
    return { ran: true, overdue, feedbackOverdue, expiredGrants: expired.length };
  });
}
