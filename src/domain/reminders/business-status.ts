/**
 * The Task.businessStatus codes the reminder pass sets (http://schakel.nl/fhir/CodeSystem/task-business-status):
 * `overdue` on a measurement Task whose due window has passed unanswered, `feedback-overdue` on an
 * accepted referral Task whose feedback is later than REFERRAL_FEEDBACK_DUE_DAYS. businessStatus
 * is the element R4 gives for "the domain-specific business-contextual sub-state of the task"
 * (https://hl7.org/fhir/R4/task-definitions.html#Task.businessStatus): Task.status stays as it is.
 */
import type { CodeableConcept, Task } from '@medplum/fhirtypes';

export const TASK_BUSINESS_STATUS_SYSTEM = 'http://schakel.nl/fhir/CodeSystem/task-business-status';

export type ReminderCode = 'overdue' | 'feedback-overdue';

const DISPLAY: Record<ReminderCode, string> = { overdue: 'Meting te laat', 'feedback-overdue': 'Terugkoppeling te laat' };

export function businessStatus(code: ReminderCode): CodeableConcept {
  return { coding: [{ system: TASK_BUSINESS_STATUS_SYSTEM, code, display: DISPLAY[code] }], text: DISPLAY[code] };
}

export function hasBusinessStatus(task: Task, code: ReminderCode): boolean {
  return (task.businessStatus?.coding ?? []).some((c) => c.system === TASK_BUSINESS_STATUS_SYSTEM && c.code === code);
}

/** The jsonb containment pattern that finds a Task already marked with `code` (SQL side of hasBusinessStatus). */
export function businessStatusPattern(code: ReminderCode): string {
  return JSON.stringify({ businessStatus: { coding: [{ system: TASK_BUSINESS_STATUS_SYSTEM, code }] } });
}
