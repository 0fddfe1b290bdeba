/**
 * The referral Task rules as a write hook (docs/care-workflows.md), for every Task whose focus is a ServiceRequest
 * with intent `order`, whether or not it claims the Referral Task profile, on create, update, patch
 * and inside transactions (all of them reach the repository as a write):
 * - the state machine of task-states.ts (409 naming the allowed states);
 * - `rejected` needs statusReason, `completed` needs feedback: an output referencing a
 *   Communication that is based on the referral (422);
 * - on update, the elements that never change and who may change which element
 *   (referral-task-fields.ts, 403 naming them);
 * - the TransitionGuards (who may make the move; referral-actor.ts) with the write's actor;
 * - side effects in the same transaction: completed -> the ServiceRequest becomes `completed`,
 *   rejected or cancelled -> `revoked`; the owner joins or leaves the care team of the CarePlan
 *   the Task is based on (care-team-membership.ts); a new Task addressed to a discipline only gets
 *   a claim code (claim-code.ts).
 * Reading the ServiceRequest and the feedback runs as a deferred check (Repository.deferCheck), so
 * in a transaction Bundle they may come in any entry order.
 */
import type { Communication, ServiceRequest, Task } from '@medplum/fhirtypes';
import { issue, unprocessable } from '../../fhir/outcomes.js';
import { parseLocalReference } from '../../fhir/references.js';
import type { Repository } from '../../repository/repository.js';
import type { ResourceChange, WriteHook } from '../../repository/types.js';
import { constraintIssue } from '../../validation/constraint-keys.js';
import { requesterAndOwnerRule, type ReferralActor, type ReferralTransition, type TransitionGuard } from './referral-actor.js';
import { followCareTeam } from './care-team-membership.js';
import { isClaimCode, needsClaimCode, withClaimCode } from './claim-code.js';
import { partyResolver, type PartyResolver } from './referral-parties.js';
import { actingAsParties, assertImmutableTaskElements, assertTaskFieldRights, resolveTaskParties } from './referral-task-fields.js';
import { REFERRAL_TASK_PROFILE } from './profiles.js';
import { announceStatusFromTask } from './status-from-task.js';
import { parsed, readLocal } from './stored-resources.js';
import { assertTransition } from './task-states.js';

export interface ReferralTaskOptions {
  /** The caller of a write (docs/security.md); undefined while there is no authentication. */
  readonly actorOf?: (repo: Repository, change: ResourceChange) => ReferralActor | undefined;
  /** Who may make which move; by default the requester/owner rule. */
  readonly guards?: readonly TransitionGuard[];
}

/** What the referral's ServiceRequest becomes when its Task reaches a final state. */
const REFERRAL_STATUS: Partial<Record<Task['status'], ServiceRequest['status']>> = {
  completed: 'completed',
  rejected: 'revoked',
  cancelled: 'revoked',
};

/** 422 unless a completed Task references feedback: a Communication based on this referral. */
async function assertFeedback(repo: Repository, task: Task, referralId: string, baseUrl: string | undefined): Promise<void> {
  const outputs = (task.output ?? []).map((o, i) => ({ reference: o.valueReference?.reference, i }));
  for (const { reference, i } of outputs) {
    const feedback = await readLocal<Communication>(repo, reference, 'Communication', baseUrl);
    const basedOnReferral = (feedback?.basedOn ?? []).some((b) => {
      const target = b.reference === undefined ? undefined : parseLocalReference(b.reference, baseUrl);
      return target?.resourceType === 'ServiceRequest' && target.id === referralId;
    });
    if (basedOnReferral) {
      return;
    }
    if (feedback) {
      throw unprocessable([
        issue({ code: 'invariant', text: 'The feedback Communication must be based on the referral (Communication.basedOn)', expression: `Task.output[${i}].valueReference` }),
      ]);
    }
  }
  throw unprocessable([issue({ code: 'required', text: 'A completed referral Task references its feedback (a Communication) in Task.output', expression: 'Task.output' })]);
}

function assertRequirements(task: Task): void {
  if (task.status === 'rejected' && !task.statusReason) {
    throw unprocessable([issue({ code: 'required', text: 'A rejected referral Task gives its reason in Task.statusReason', expression: 'Task.statusReason' })]);
  }
}

/** sch-task-4 of the Referral Task profile, which needs the referral: the Task is for its patient. */
function assertSamePatient(task: Task, referral: ServiceRequest, baseUrl: string | undefined): void {
  if (!(task.meta?.profile ?? []).includes(REFERRAL_TASK_PROFILE)) {
    return;
  }
  const key = (reference: string | undefined): string | undefined => {
    const local = reference === undefined ? undefined : parseLocalReference(reference, baseUrl);
    return local ? `${local.resourceType}/${local.id}` : reference;
  };
  if (key(task.for?.reference) !== key(referral.subject.reference)) {
    throw unprocessable([
      constraintIssue({ key: 'sch-task-4', human: 'The Task is for the patient of its referral', source: REFERRAL_TASK_PROFILE }, 'Task.for'),
    ]);
  }
}

export function referralTaskHook(options: ReferralTaskOptions = {}, parties: PartyResolver = partyResolver(undefined)): WriteHook {
  const guards = options.guards ?? [requesterAndOwnerRule];

  async function check(repo: Repository, change: ResourceChange, task: Task, referralId: string): Promise<void> {
    const referral = await readLocal<ServiceRequest>(repo, `ServiceRequest/${referralId}`, 'ServiceRequest', undefined);
    if (referral?.intent !== 'order') {
      // No referral (yet): a dangling focus is the referential integrity check's to report.
      return;
    }
    const previousVersion = change.previous && !change.previous.deleted ? change.previous : undefined;
    const previous = parsed<Task>(previousVersion?.json);
    let actor = options.actorOf?.(repo, change);
    if (previous) {
      // Who may change what comes before which state it may move to: a caller with no say over
      // the Task learns nothing of its state machine.
      assertImmutableTaskElements(previous, task);
      if (actor) {
        const fieldChange = { previous, task, referral, baseUrl: change.baseUrl };
        const found = await resolveTaskParties(repo, parties, fieldChange);
        await assertTaskFieldRights(repo, parties, fieldChange, actor, found);
        actor = actingAsParties(actor, found);
      }
    }
    const transition: ReferralTransition = { from: previous?.status, to: task.status, task, previous, referral };
    assertTransition(transition.from, transition.to);
    for (const guard of guards) {
      guard(transition, actor);
    }
    assertRequirements(task);
    assertSamePatient(task, referral, change.baseUrl);
    if (task.status === 'completed') {
      await assertFeedback(repo, task, referralId, change.baseUrl);
    }
    const next = REFERRAL_STATUS[task.status];
    if (next !== undefined && transition.from !== task.status && referral.status !== next) {
      announceStatusFromTask(repo, referralId, next);
      await repo.update({ ...referral, id: referralId, status: next }, change.baseUrl === undefined ? {} : { baseUrl: change.baseUrl });
    }
    if (transition.from !== task.status) {
      await followCareTeam(repo, change.version.id, transition.from, task, previous, change.baseUrl);
    }
  }

  /**
   * The claim code is the server's: only the requester side sees it (auth/claim-code-visibility.ts),
   * so anyone else who updates the Task sends it back without one. Restored as the next version.
   */
  async function keepClaimCodes(repo: Repository, change: ResourceChange, task: Task): Promise<void> {
    const before = parsed<Task>(change.previous?.deleted === false ? change.previous.json : undefined);
    const kept = new Set((task.identifier ?? []).filter(isClaimCode).map((i) => i.value));
    const lost = (before?.identifier ?? []).filter((i) => isClaimCode(i) && !kept.has(i.value));
    if (lost.length === 0) {
      return;
    }
    await repo.deferCheck('Task', change.version.id, async (r) => {
      const current = await r.readCurrent('Task', change.version.id);
      const now = current?.deleted === false ? parsed<Task>(current.json) : undefined;
      if (now) {
        await r.update({ ...now, id: change.version.id, identifier: [...(now.identifier ?? []), ...lost] }, change.baseUrl === undefined ? {} : { baseUrl: change.baseUrl });
      }
    });
  }

  /** After the Task is stored: its claim code, as its next version in the same transaction. */
  async function issueClaimCode(repo: Repository, change: ResourceChange, referralId: string): Promise<void> {
    const referral = await readLocal<ServiceRequest>(repo, `ServiceRequest/${referralId}`, 'ServiceRequest', undefined);
    const current = await repo.readCurrent('Task', change.version.id);
    const task = current?.deleted === false ? parsed<Task>(current.json) : undefined;
    if (referral?.intent === 'order' && task !== undefined && needsClaimCode(task, referral)) {
      await repo.update(withClaimCode({ ...task, id: change.version.id }), change.baseUrl === undefined ? {} : { baseUrl: change.baseUrl });
    }
  }

  return {
    async beforeWrite(repo, change) {
      const task = change.resource;
      if (task?.resourceType !== 'Task') {
        return;
      }
      // A stored Task stays the referral Task it was: its focus decides, not the one written now
      // (which may not change; referral-task-fields.ts).
      const stored = change.previous && !change.previous.deleted ? parsed<Task>(change.previous.json) : undefined;
      const focusReference = stored?.focus?.reference ?? task.focus?.reference;
      if (focusReference === undefined) {
        return;
      }
      const focus = parseLocalReference(focusReference, change.baseUrl);
      if (focus?.resourceType !== 'ServiceRequest') {
        return;
      }
      await repo.deferCheck('Task', change.version.id, (r) => check(r, change, task, focus.id));
    },
    async afterWrite(repo, change) {
      const task = change.resource;
      if (change.kind === 'update' && task?.resourceType === 'Task') {
        await keepClaimCodes(repo, change, task);
        return;
      }
      if (change.kind !== 'create' || task?.resourceType !== 'Task' || task.owner !== undefined || task.focus?.reference === undefined) {
        return;
      }
      const focus = parseLocalReference(task.focus.reference, change.baseUrl);
      if (focus?.resourceType === 'ServiceRequest') {
        await repo.deferCheck('Task', change.version.id, (r) => issueClaimCode(r, change, focus.id));
      }
    },
  };
}
