/**
 * What the receiver of a notification Task (its owner) may change: it reports how the pull went,
 * as the owner of a referral Task does (docs/security.md, referral Task elements): `status`
 * (received, accepted, in-progress, and to end it completed, rejected or failed), `businessStatus`,
 * `output`, `note` and `lastModified`. Everything that defines the grant (input, period, owner,
 * patient, sender) stays the sender's; a Task that has ended does not open again for the receiver,
 * since opening it would give back the access its end took away.
 */
import type { Task } from '@medplum/fhirtypes';
import { issue, unprocessable } from '../../fhir/outcomes.js';
import { changedElements, refuseElements } from '../referral/element-changes.js';

const RECEIVER_ELEMENTS: ReadonlySet<string> = new Set(['status', 'businessStatus', 'output', 'note', 'lastModified']);
const RECEIVER_STATES: ReadonlySet<string> = new Set(['received', 'accepted', 'in-progress', 'completed', 'rejected', 'failed']);

/** 403 naming the elements the receiver may not change; 422 for a status it may not set. */
export function assertReceiverUpdate(previous: Task, next: Task): void {
  const refused = changedElements(previous, next).filter((element) => !RECEIVER_ELEMENTS.has(element));
  if (refused.length > 0) {
    throw refuseElements('Task', refused, 'The receiver of a notification Task may not change');
  }
  if (next.status !== previous.status && !RECEIVER_STATES.has(next.status)) {
    throw unprocessable([issue({ code: 'business-rule', text: `The receiver of a notification Task cannot set status ${next.status}`, expression: 'Task.status' })]);
  }
}
