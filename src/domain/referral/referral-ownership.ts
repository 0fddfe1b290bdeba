/**
 * The referral belongs to the organisation that requested it (Shared Care Planning: the placer owns
 * the request; https://hl7.org/fhir/R4/servicerequest.html#scope, "requester": who is requesting the
 * service). Only someone acting for the requester's organisation (referral-parties.ts) may change a
 * referral ServiceRequest, revoke it or mark it entered-in-error, or delete it; anyone else who may
 * see it, such as the performer, gets 403 naming every element they tried to change. The one change
 * others cause is the status that follows the referral Task (status-from-task.ts).
 *
 * Integration engines (system clients) are audited as the client and carry no organisation; for a
 * ServiceRequest the only party that may change it is its owner, and an engine with write access
 * relays that owner's system, so it passes (as for owner-only fields of the Task,
 * referral-task-fields.ts). Server-internal writes (no actor) pass too.
 */
import type { ServiceRequest } from '@medplum/fhirtypes';
import { forbidden } from '../../fhir/outcomes.js';
import type { WriteHook } from '../../repository/types.js';
import { changedElements, refuseElements } from './element-changes.js';
import type { ReferralTaskOptions } from './referral-task-hook.js';
import { actsFor, type PartyResolver } from './referral-parties.js';
import { takeStatusFromTask } from './status-from-task.js';
import { parsed } from './stored-resources.js';

export function referralOwnershipHook(options: ReferralTaskOptions, parties: PartyResolver): WriteHook {
  return {
    async beforeWrite(repo, change) {
      const { version, previous, resource } = change;
      if (version.resourceType !== 'ServiceRequest' || change.kind === 'create' || !previous || previous.deleted) {
        return;
      }
      const before = parsed<ServiceRequest>(previous.json);
      if (before?.intent !== 'order' || before.requester === undefined) {
        // Not a referral, or no requester to own it.
        return;
      }
      const actor = options.actorOf?.(repo, change);
      if (!actor || actor.system) {
        return;
      }
      const changed = resource === undefined ? [] : changedElements(before, resource);
      if (resource !== undefined && changed.length === 0) {
        return;
      }
      const status = resource?.resourceType === 'ServiceRequest' ? resource.status : undefined;
      if (changed.length === 1 && changed[0] === 'status' && status !== undefined && takeStatusFromTask(repo, version.id, status)) {
        return;
      }
      await repo.deferCheck('ServiceRequest', version.id, async (r) => {
        const owner = await parties.resolve(r, before.requester, change.baseUrl);
        if (actsFor(actor, owner)) {
          return;
        }
        if (resource === undefined) {
          throw forbidden("Only the requester's organisation may delete its referral", 'ServiceRequest');
        }
        throw refuseElements('ServiceRequest', changed, "Only the requester's organisation may change its referral");
      });
    },
  };
}
