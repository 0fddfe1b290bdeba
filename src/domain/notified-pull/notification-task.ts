/**
 * The notification Task of notified pull (Twiin Technical Agreement Notified Pull, the pattern
 * eOverdracht uses: https://www.twiin.nl/tanp): a sender tells a receiving organisation that
 * data is ready for it and lets it fetch exactly that data. A Task is one when its code is
 * `pull-notification`; its parts:
 * - `owner`: the receiving Organization (or a PractitionerRole, which stands for its organisation);
 * - `input[].valueReference`: the resources the receiver may fetch;
 * - `restriction.period`: from when until when it may fetch them (an end is required: a grant
 *   without an end would outlive the reason for it);
 * - `for`: the patient, `requester`: the sender.
 * The code is recognised in any code system: the TA names the code, and senders differ in the
 * system they put it in.
 */
import type { Resource, Task } from '@medplum/fhirtypes';
import { parseDateRange } from '../../fhir/dates.js';
import { issue, unprocessable } from '../../fhir/outcomes.js';
import type { WriteHook } from '../../repository/types.js';

export const PULL_NOTIFICATION_CODE = 'pull-notification';

/** Whether a Task is a notification Task (by Task.code). */
export function isNotificationTask(task: Task): boolean {
  return (task.code?.coding ?? []).some((c) => c.code === PULL_NOTIFICATION_CODE);
}

/** The resource as a notification Task, or undefined when it is none. */
export function asNotificationTask(resource: Resource | undefined): Task | undefined {
  return resource?.resourceType === 'Task' && isNotificationTask(resource) ? resource : undefined;
}

/** When the receiver may start and must stop fetching (restriction.period at its precision); undefined without an end. */
export function pullPeriod(task: Task): { since: Date | undefined; until: Date } | undefined {
  const period = task.restriction?.period;
  const until = period?.end === undefined ? undefined : parseDateRange(period.end)?.end;
  if (until === undefined) {
    return undefined;
  }
  return { since: period?.start === undefined ? undefined : parseDateRange(period.start)?.start, until };
}

/** The local `Type/id` references a notification Task's inputs make fetchable. */
export function pullInputs(task: Task): string[] {
  return (task.input ?? []).flatMap((i) => (i.valueReference?.reference === undefined ? [] : [i.valueReference.reference]));
}

const OWNER_TYPES = /^(Organization|PractitionerRole)\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * 422 for a notification Task that cannot say what it grants, to whom, until when. That the sender
 * may read what it hands over is the write guard's rule for every reference (auth/write-guard.ts:
 * a reference to something the caller cannot see is refused, and read grants do not count, so a
 * receiver cannot pass on what it was only allowed to fetch).
 */
export function notificationTaskHook(): WriteHook {
  return {
    async beforeWrite(_repo, change) {
      const task = asNotificationTask(change.resource);
      if (task === undefined) {
        return;
      }
      const problems = [];
      if (task.owner?.reference === undefined || !OWNER_TYPES.test(task.owner.reference)) {
        problems.push(issue({ code: 'required', text: 'A notification Task needs an owner: the receiving Organization or a PractitionerRole', expression: 'Task.owner' }));
      }
      const inputs = task.input ?? [];
      if (inputs.length === 0 || inputs.some((i) => i.valueReference?.reference === undefined)) {
        problems.push(issue({ code: 'required', text: 'Every input of a notification Task is a reference to a resource the receiver may fetch', expression: 'Task.input' }));
      }
      const period = pullPeriod(task);
      if (period === undefined) {
        problems.push(issue({ code: 'required', text: 'A notification Task needs restriction.period.end: until when the receiver may fetch', expression: 'Task.restriction.period.end' }));
      } else if (period.since !== undefined && period.since.getTime() >= period.until.getTime()) {
        problems.push(issue({ code: 'invariant', text: 'restriction.period.start must lie before its end', expression: 'Task.restriction.period' }));
      }
      if (problems.length > 0) {
        throw unprocessable(problems);
      }
    },
  };
}
