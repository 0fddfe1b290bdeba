/**
 * Who may change which element of a referral Task (Shared Care Planning workflow: the requester
 * places the Task, the owner works it; https://hl7.org/fhir/R4/task.html#statemachine). Elements
 * compare by deep equality without meta and text (element-changes.ts); parties are organisations
 * (referral-parties.ts).
 *
 * - `requester`, `for`, `focus`, `basedOn` and `intent` never change after create, for anyone:
 *   they say what the Task is about and who asked; changing them would make it another Task.
 * - The owner (the organisation of Task.owner; before there is one, of the referral's performer)
 *   may change status, statusReason, businessStatus, output, note, lastModified, and owner within
 *   its own organisation (to a PractitionerRole, Practitioner or the Organization itself).
 * - The requester (the organisation of Task.requester, or of the referral's requester) may change
 *   owner while the Task is still `requested`, restriction and note; and status (with statusReason)
 *   only to withdraw: `cancelled` or `entered-in-error`, which the transition guards then check
 *   (referral-actor.ts). It may set lastModified with any change it may make.
 * - `note` is append-only for both: earlier annotations stay as they were, so neither side rewrites
 *   what the other wrote.
 * - Anyone else (a care-team member who can see the Task) may change nothing.
 * Every refused element is named in the 403 (issue.expression `Task.<element>`).
 *
 * An integration engine (system client) carries no organisation: the rules that hold for everyone
 * hold for it, and for party-bound elements it may act as either party, since one engine often
 * relays both the placer's and the filler's system and the token does not say which. A change
 * neither party could make (reassigning an accepted Task to another organisation, changing
 * `description`) is refused to it as well. Without an actor (server-internal writes) only the
 * immutable elements are checked.
 */
import type { Annotation, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { Repository } from '../../repository/repository.js';
import { isClaimCode } from './claim-code.js';
import { isClaimedOwner } from './claimed-owner.js';
import { changedElements, refuseElements, sameJson } from './element-changes.js';
import type { ReferralActor } from './referral-actor.js';
import { actsFor, sameOrganization, type PartyResolver, type ReferralParty } from './referral-parties.js';

export const IMMUTABLE_TASK_ELEMENTS: readonly string[] = ['requester', 'for', 'focus', 'basedOn', 'intent'];
/** Elements without a condition; owner, note, status and statusReason have their own below. */
const OWNER_ELEMENTS: ReadonlySet<string> = new Set(['businessStatus', 'output', 'lastModified']);
const REQUESTER_ELEMENTS: ReadonlySet<string> = new Set(['restriction', 'lastModified']);
/** What an owner may hand a Task to inside its organisation. */
const OWNER_KINDS: ReadonlySet<string> = new Set(['PractitionerRole', 'Practitioner', 'Organization']);
/** The moves a requester may make itself: withdrawing its referral or correcting an error. */
const REQUESTER_STATES: ReadonlySet<Task['status']> = new Set(['cancelled', 'entered-in-error']);

export interface TaskFieldChange {
  readonly previous: Task;
  readonly task: Task;
  readonly referral: ServiceRequest;
  readonly baseUrl: string | undefined;
}

/** 403 when an element that never changes after create differs from the stored Task. */
export function assertImmutableTaskElements(previous: Task, task: Task): void {
  const changed = changedElements(previous, task).filter((element) => IMMUTABLE_TASK_ELEMENTS.includes(element));
  if (changed.length > 0) {
    throw refuseElements('Task', changed, 'This element of a referral Task cannot change after create');
  }
}

function appended(before: readonly Annotation[] | undefined, after: readonly Annotation[] | undefined): boolean {
  const earlier = before ?? [];
  const now = after ?? [];
  return now.length >= earlier.length && earlier.every((note, i) => sameJson(note, now[i]));
}

/** The owner (or, before there is one, the referral's performers) and the requester of a Task. */
export interface TaskParties {
  readonly owners: readonly ReferralParty[];
  readonly requester: ReferralParty | undefined;
}

export async function resolveTaskParties(repo: Repository, parties: PartyResolver, change: TaskFieldChange): Promise<TaskParties> {
  const { previous, referral, baseUrl } = change;
  const ownerRefs = previous.owner ? [previous.owner] : (referral.performer ?? []);
  const owners = (await Promise.all(ownerRefs.map((ref) => parties.resolve(repo, ref, baseUrl)))).filter((p): p is ReferralParty => p !== undefined);
  return { owners, requester: await parties.resolve(repo, previous.requester ?? referral.requester, baseUrl) };
}

/**
 * The actor as the transition guards (referral-actor.ts) see it: also the references of the parties
 * it acts for by organisation, so a colleague of the owner's organisation moves a Task owned by a
 * Practitioner of that organisation as the owner would.
 */
export function actingAsParties(actor: ReferralActor, found: TaskParties): ReferralActor {
  const extra = [...found.owners, ...(found.requester ? [found.requester] : [])].filter((party) => actsFor(actor, party)).map((party) => party.reference);
  return extra.length === 0 ? actor : { ...actor, references: [...actor.references, ...extra] };
}

function withoutClaimCodes(identifiers: Task['identifier']): Task['identifier'] {
  const kept = (identifiers ?? []).filter((identifier) => !isClaimCode(identifier));
  return kept.length === 0 ? undefined : kept;
}

/** 403 naming each element the actor may not change on this referral Task (see the file comment). */
export async function assertTaskFieldRights(repo: Repository, parties: PartyResolver, change: TaskFieldChange, actor: ReferralActor, found: TaskParties): Promise<void> {
  const { previous, task, baseUrl } = change;
  const changed = changedElements(previous, task).filter((element) => !IMMUTABLE_TASK_ELEMENTS.includes(element));
  if (changed.length === 0) {
    return;
  }
  const { owners, requester } = found;
  const isOwner = actor.system === true || owners.some((owner) => actsFor(actor, owner));
  const isRequester = actor.system === true || actsFor(actor, requester);

  const mayChange = async (element: string): Promise<boolean> => {
    switch (element) {
      case 'owner': {
        if (isRequester && previous.status === 'requested') {
          return true;
        }
        if (previous.owner === undefined && previous.status === 'requested' && isClaimedOwner(task.id ?? '', task.owner?.reference)) {
          return true;
        }
        if (!isOwner || task.owner === undefined) {
          return false;
        }
        const next = await parties.resolve(repo, task.owner, baseUrl);
        return next !== undefined && OWNER_KINDS.has(next.resourceType) && sameOrganization(owners, next);
      }
      case 'note':
        return (isOwner || isRequester) && appended(previous.note, task.note);
      case 'identifier':
        // Claim codes are the server's (claim-code.ts): adding or restoring one is no client's change.
        return sameJson(withoutClaimCodes(previous.identifier), withoutClaimCodes(task.identifier));
      case 'status':
      case 'statusReason':
        return isOwner || (isRequester && REQUESTER_STATES.has(task.status) && previous.status !== task.status);
      default:
        return (isOwner && OWNER_ELEMENTS.has(element)) || (isRequester && REQUESTER_ELEMENTS.has(element));
    }
  };
  const refused: string[] = [];
  for (const element of changed) {
    if (!(await mayChange(element))) {
      refused.push(element);
    }
  }
  if (refused.length > 0) {
    throw refuseElements('Task', refused, 'The caller may not change this element of the referral Task');
  }
}
