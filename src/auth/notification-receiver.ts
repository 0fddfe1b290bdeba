/**
 * The receiver of a notification Task of notified pull (pull-grants.ts) reports back on the Task it
 * may only read by grant: the write guard (write-guard.ts) lets the Task's owner update it while
 * the Task is open and its grant holds, within the elements domain/notified-pull/receiver-update.ts
 * allows. Only the references the update adds (its outputs) must be visible to the receiver by
 * care relation; the others are the sender's and stay as they were.
 */
import type { Resource, Task } from '@medplum/fhirtypes';
import { asNotificationTask } from '../domain/notified-pull/notification-task.js';
import { parseLocalReference } from '../fhir/references.js';
import type { AccessScope } from './access-scope.js';
import { OPEN_TASK_STATES } from './care-relations.js';

/** The stored notification Task when the caller is its owner and it is still open; undefined otherwise. */
export function receivedNotification(scope: AccessScope, before: Resource | undefined, baseUrl: string | undefined): Task | undefined {
  const task = asNotificationTask(before);
  const owner = task?.owner?.reference === undefined ? undefined : parseLocalReference(task.owner.reference, baseUrl);
  if (task === undefined || owner === undefined || !OPEN_TASK_STATES.has(task.status) || !scope.byPatient) {
    return undefined;
  }
  return scope.actors.includes(`${owner.resourceType}/${owner.id}`) ? task : undefined;
}

/** What the receiver's update adds that must be visible to it: the Task with its outputs only. */
export function receiverAdditions(task: Task): Task {
  return { resourceType: 'Task', status: task.status, intent: task.intent, ...(task.output ? { output: task.output } : {}) };
}
