/**
 * The referral Task state machine (docs/care-workflows.md, section 1), a subset of FHIR's Task states
 * (https://hl7.org/fhir/R4/task.html#statemachine):
 *
 *   requested -> received -> accepted | rejected
 *   accepted -> in-progress -> completed | failed
 *   any open state (requested, received, accepted, in-progress) -> cancelled
 *   any state -> entered-in-error (a correction: clinical data is never hard-deleted)
 *
 * A referral Task starts as `requested`. Staying in the same state (an update that changes other
 * elements) is no transition. The other FHIR states (draft, ready, on-hold) have no place in a
 * referral and are refused like any transition the table does not list.
 */
import type { Task } from '@medplum/fhirtypes';
import { issue, OperationOutcomeError, outcome } from '../../fhir/outcomes.js';

export type TaskStatus = Task['status'];

/** The code system of Task.status, for naming states in OperationOutcome details. */
export const TASK_STATUS_SYSTEM = 'http://hl7.org/fhir/task-status';

export const INITIAL_STATES: readonly TaskStatus[] = ['requested'];

const NEXT: Readonly<Partial<Record<TaskStatus, readonly TaskStatus[]>>> = {
  requested: ['received', 'cancelled'],
  received: ['accepted', 'rejected', 'cancelled'],
  accepted: ['in-progress', 'cancelled'],
  'in-progress': ['completed', 'failed', 'cancelled'],
  rejected: [],
  completed: [],
  failed: [],
  cancelled: [],
  'entered-in-error': [],
};

/** States from which the referral can still be cancelled. */
export const OPEN_STATES: readonly TaskStatus[] = ['requested', 'received', 'accepted', 'in-progress'];

/** The states a referral Task may move to from `from` (undefined: it is being created). */
export function allowedNext(from: TaskStatus | undefined): TaskStatus[] {
  if (from === undefined) {
    return [...INITIAL_STATES];
  }
  const next = NEXT[from];
  if (next === undefined) {
    // A state outside the referral machine (written before the rule existed): only a correction.
    return ['entered-in-error'];
  }
  return from === 'entered-in-error' ? [] : [...next, 'entered-in-error'];
}

/** Whether moving from `from` to `to` is allowed; equal states are no transition. */
export function isAllowed(from: TaskStatus | undefined, to: TaskStatus): boolean {
  return (from !== undefined && from === to && NEXT[to] !== undefined) || allowedNext(from).includes(to);
}

/**
 * 409 when the referral Task may not move from `from` to `to`. The OperationOutcome names the
 * allowed states in details.coding (system task-status), so a client can offer them.
 */
export function assertTransition(from: TaskStatus | undefined, to: TaskStatus): void {
  if (isAllowed(from, to)) {
    return;
  }
  const allowed = allowedNext(from);
  const text =
    from === undefined
      ? `A referral Task starts as ${allowed.join(' or ')}, not ${to}`
      : allowed.length === 0
        ? `A referral Task in state ${from} cannot change state any more (asked: ${to})`
        : `A referral Task in state ${from} can move to ${allowed.join(', ')}; not to ${to}`;
  const found = issue({ code: 'business-rule', text, expression: 'Task.status' });
  found.details = { ...found.details, coding: allowed.map((code) => ({ system: TASK_STATUS_SYSTEM, code })) };
  throw new OperationOutcomeError(outcome('conflict', [found]));
}
