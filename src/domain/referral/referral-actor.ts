/**
 * Who may move a referral Task (the seam: docs/care-workflows.md; the identity: docs/security.md): only the requester
 * may cancel a referral, and only the owner (the receiving professional or organisation) may move
 * it forward. The state machine runs every TransitionGuard with the actor of the write; without an
 * actor (no authentication yet, or an integration engine acting as a system client, which authentication
 * audits as the client) the guards let everything through. Which elements each party may change
 * at all is referral-task-fields.ts; that rule binds system clients too.
 */
import type { ServiceRequest, Task } from '@medplum/fhirtypes';
import { forbidden } from '../../fhir/outcomes.js';
import type { TaskStatus } from './task-states.js';

/** A change of a referral Task's state, as the guards see it. */
export interface ReferralTransition {
  /** Undefined when the Task is being created. */
  readonly from: TaskStatus | undefined;
  readonly to: TaskStatus;
  readonly task: Task;
  readonly previous: Task | undefined;
  readonly referral: ServiceRequest;
}

/**
 * The caller of a write as authentication knows it: the references it acts as (its Practitioner,
 * PractitionerRole and Organization, as `Type/id`). A system client is not bound by the rules.
 */
export interface ReferralActor {
  readonly references: readonly string[];
  readonly system?: boolean;
}

/** Refuses a transition (by throwing an OperationOutcomeError) or lets it pass. */
export type TransitionGuard = (transition: ReferralTransition, actor: ReferralActor | undefined) => void;

function actsAs(actor: ReferralActor, reference: string | undefined): boolean {
  return reference !== undefined && actor.references.includes(reference);
}

/**
 * cancelled by the requester only; moved forward by the owner only. The owner is the
 * Task's owner before the write (on `received`, the receiver may name itself: then the new owner,
 * or the referral's performer, counts). Corrections (entered-in-error) and writes without a state
 * change are not transitions this rule governs.
 */
export const requesterAndOwnerRule: TransitionGuard = (transition, actor) => {
  const { from, to, task, previous, referral } = transition;
  if (!actor || actor.system || from === undefined || from === to || to === 'entered-in-error') {
    return;
  }
  if (to === 'cancelled') {
    const requester = previous?.requester?.reference ?? task.requester?.reference ?? referral.requester?.reference;
    if (!actsAs(actor, requester)) {
      throw forbidden('Only the requester of a referral may cancel it', 'Task.status');
    }
    return;
  }
  const owners = [previous?.owner?.reference];
  if (!previous?.owner) {
    owners.push(task.owner?.reference, ...(referral.performer ?? []).map((p) => p.reference));
  }
  if (!owners.some((owner) => actsAs(actor, owner))) {
    throw forbidden('Only the owner of a referral Task may move it forward', 'Task.status');
  }
};
